-- osm2pgsql flex style for bench/osm_import.py: the tables twin's layer files' osm: blocks
-- make, with the same columns (roads one row per way: osm2pgsql does not split ways at
-- intersections, so there is no source/target).
local ROADS = {}
for _, v in ipairs({'motorway', 'trunk', 'primary', 'secondary', 'tertiary', 'unclassified',
    'residential', 'service', 'motorway_link', 'trunk_link', 'primary_link', 'secondary_link',
    'tertiary_link', 'living_street', 'pedestrian', 'track', 'busway', 'bus_guideway', 'road',
    'escape', 'footway', 'path', 'cycleway', 'bridleway', 'steps', 'corridor'}) do
    ROADS[v] = true
end

local function point_table(name, extra)
    local columns = { { column = 'external_id', type = 'text', not_null = true },
                      { column = 'code', type = 'text' }, { column = 'name', type = 'text' } }
    for _, c in ipairs(extra or {}) do table.insert(columns, c) end
    table.insert(columns, { column = 'geom', type = 'point', projection = 4326, not_null = true })
    return osm2pgsql.define_table({ name = name, ids = { type = 'any', id_column = 'osm_id',
                                    type_column = 'osm_type' }, columns = columns })
end

local roads = osm2pgsql.define_way_table('road_segments', {
    { column = 'external_id', type = 'text', not_null = true },
    { column = 'name', type = 'text', not_null = true },
    { column = 'road_class', type = 'text', not_null = true },
    { column = 'surface', type = 'text' }, { column = 'lanes', type = 'int' },
    { column = 'width_m', type = 'real' }, { column = 'speed_limit_kmh', type = 'int' },
    { column = 'oneway', type = 'bool' }, { column = 'agency', type = 'text' },
    { column = 'ref', type = 'text' }, { column = 'name_en', type = 'text' },
    { column = 'geom', type = 'linestring', projection = 4326, not_null = true },
})
local stops = point_table('bus_stops', { { column = 'shelter', type = 'bool' } })
local signals = point_table('traffic_signals')
local signs = point_table('traffic_signs', { { column = 'sign_code', type = 'text' },
                                            { column = 'category', type = 'text' } })
local cameras = point_table('cameras', { { column = 'kind', type = 'text' } })
local parking = point_table('parking_sites', { { column = 'capacity', type = 'int' } })
local areas = osm2pgsql.define_relation_table('admin_areas', {
    { column = 'external_id', type = 'text', not_null = true },
    { column = 'name', type = 'text' }, { column = 'level', type = 'text' },
    { column = 'geom', type = 'multipolygon', projection = 4326, not_null = true },
})
local routes = osm2pgsql.define_relation_table('bus_routes', {
    { column = 'external_id', type = 'text', not_null = true },
    { column = 'route_number', type = 'text' }, { column = 'name', type = 'text' },
    { column = 'geom', type = 'multilinestring', projection = 4326, not_null = true },
})

local function number(v)
    if v == nil then return nil end
    return tonumber(string.match(v, '^%s*(%d+%.?%d*)%s*$'))
end

local function point(tbl, object, geom, extra)
    local row = { external_id = 'osm-' .. object.type:sub(1, 1) .. object.id,
                  code = 'osm-' .. object.type:sub(1, 1) .. object.id,
                  name = object.tags['name:vi'] or object.tags.name, geom = geom }
    for k, v in pairs(extra or {}) do row[k] = v end
    tbl:insert(row)
end

function osm2pgsql.process_node(object)
    local t = object.tags
    local geom = object:as_point()
    if t.highway == 'bus_stop' or t.public_transport == 'platform' then
        point(stops, object, geom, { shelter = t.shelter == 'yes' })
    end
    if t.highway == 'traffic_signals' then point(signals, object, geom) end
    if t.traffic_sign then
        local code = string.match(t.traffic_sign, 'VN:([A-Z]+%.%d+%a?)')
        point(signs, object, geom, { sign_code = code, category = code and code:sub(1, 1) })
    end
    if t.man_made == 'surveillance' or t.highway == 'speed_camera' then
        point(cameras, object, geom, { kind = t['surveillance:type'] or t.highway })
    end
    if t.amenity == 'parking' then point(parking, object, geom, { capacity = number(t.capacity) }) end
end

function osm2pgsql.process_way(object)
    local t = object.tags
    if ROADS[t.highway] and t.area ~= 'yes' then
        roads:insert({ external_id = 'osm-w' .. object.id,
            name = t['name:vi'] or t.name or t.ref or '(không tên)', road_class = t.highway,
            surface = t.surface, lanes = number(t.lanes), width_m = number(t.width),
            speed_limit_kmh = number(t.maxspeed),
            oneway = (t.oneway == 'yes' or t.oneway == '1' or t.oneway == '-1'),
            agency = t.operator, ref = t.ref, name_en = t['name:en'],
            geom = object:as_linestring() })
    end
    if t.amenity == 'parking' and object.is_closed then
        point(parking, object, object:as_polygon():centroid(), { capacity = number(t.capacity) })
    end
end

function osm2pgsql.process_relation(object)
    local t = object.tags
    if t.type == 'route' and t.route == 'bus' then
        routes:insert({ external_id = 'osm-r' .. object.id, route_number = t.ref, name = t.name,
                        geom = object:as_multilinestring() })
    elseif t.boundary == 'administrative' and (t.admin_level == '4' or t.admin_level == '6'
            or t.admin_level == '8') then
        areas:insert({ external_id = 'osm-r' .. object.id, name = t.name, level = t.admin_level,
                       geom = object:as_multipolygon() })
    end
end
