"""The default city profile (config/city.yaml) as the tests read it: its plausible
extent for the loaders, its time zone for local days."""

from twin.city import load_city

CITY = load_city()
EXTENT = CITY.plausible_extent
TZ = CITY.timezone
