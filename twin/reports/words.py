"""Every word a report prints, in Vietnamese and English: headings, table headers,
legends, notes, captions, axis titles. Topic modules ask :func:`say` for a key in the
report's language; templates take ``{name}`` fields (values formatted by the caller
with :mod:`twin.i18n`'s ``number``/``day``/``moment``).

Codes (EPSG, VN_AQI, PM2.5, land-use codes) and place names stay as they are.
"""

from __future__ import annotations

from twin.i18n import normalise

_W: dict[str, tuple[str, str]] = {
    # page furniture
    "map_report": ("Báo cáo bản đồ", "Map report"),
    "digital_twin": ("Bản sao số {place}", "{place} digital twin"),
    "digital_twin_plain": ("bản sao số đô thị", "city digital twin"),
    "legend": ("Chú giải", "Legend"),
    "page": ("Trang {n}/{total}", "Page {n} of {total}"),
    "footer_pdf": ("Lập lúc {when} bằng twin · dữ liệu: mô hình đô thị twin (PostGIS) · "
                   "bản đồ theo {crs}",
                   "Generated {when} by twin · data: twin city model (PostGIS) · "
                   "maps in {crs}"),
    "footer_html": ("Lập lúc {when} bằng twin từ mô hình đô thị (PostGIS). Bản đồ: Leaflet "
                    "(không có bản đồ nền; dùng ngoại tuyến).",
                    "Generated {when} by twin from the city model (PostGIS). Maps: Leaflet "
                    "(no basemap; offline)."),
    "map_caption_pdf": ("{note} Phép chiếu: {crs}. Nét đứt: ranh giới {area}; vùng xung "
                        "quanh được làm mờ.",
                        "{note} Projection: {crs}. Dashed line: boundary of {area}; "
                        "surroundings faded."),
    "dashed_boundary": ("Nét đứt: ranh giới {area}.", "Dashed line: boundary of {area}."),
    "pdf_projection": ("{note} Phép chiếu của bản PDF: {crs}.",
                       "{note} Map projection of the PDF: {crs}."),
    "area_boundary": ("Ranh giới khu vực", "Area boundary"),
    "crs": ("EPSG:3405 · VN-2000 / UTM múi 48N", "EPSG:3405 · VN-2000 / UTM zone 48N"),
    "grid_km": ("lưới tọa độ (km)", "grid in km"),
    "north": ("B", "N"),
    "contents": ("Mục lục", "Contents"),
    # roads
    "roads": ("Đường", "Roads"),
    "roads_outside": ("Đường ngoài khu vực", "Roads outside the area"),
    "road": ("đường", "road"),
    # assets
    "assets_title": ("Tài sản đường bộ và giao thông", "Road and transport assets"),
    "assets_map_note": ("Đường tô màu theo điểm tình trạng (1 rất kém – 5 rất tốt), độ dày "
                        "nét theo cấp đường; đường ngoài khu vực màu xám.",
                        "Roads coloured by condition score (1 very poor – 5 very good), line "
                        "width by functional class; roads outside the area in grey."),
    "roads_by_condition": ("Đường theo tình trạng", "Roads by condition"),
    "road_popup": ("{name} ({cls}), tình trạng {cond}", "{name} ({cls}), condition {cond}"),
    "bus_routes": ("Tuyến xe buýt", "Bus routes"),
    "route_popup": ("Tuyến {number}: {name}", "Route {number}: {name}"),
    "traffic_signs": ("Biển báo giao thông", "Traffic signs"),
    "parking": ("Điểm đỗ xe", "Parking"),
    "bus_stops": ("Điểm dừng xe buýt", "Bus stops"),
    "cameras": ("Camera", "Cameras"),
    "traffic_signals": ("Đèn tín hiệu giao thông", "Traffic signals"),
    "condition_table": ("Tình trạng đường theo cấp (km)", "Road condition by class (km)"),
    "road_class": ("Cấp đường", "Road class"),
    "total": ("Tổng", "Total"),
    "all_classes": ("tất cả các cấp", "all classes"),
    "lengths_note": ("Chiều dài đường trong khu vực, đo trên ellipsoid.",
                     "Lengths of road inside the area, measured on the ellipsoid."),
    "no_roads": ("Khu vực không có đường.", "No roads in the area."),
    "inspection_table": ("Tài sản cần kiểm tra hoặc sửa chữa",
                         "Assets needing inspection or repair"),
    "asset": ("Tài sản", "Asset"),
    "id": ("Mã", "Id"),
    "name_code": ("Tên / mã hiệu", "Name / code"),
    "reason": ("Lý do", "Reason"),
    "last_inspected": ("Kiểm tra / lắp đặt lần cuối", "Last inspected / installed"),
    "never": ("chưa bao giờ", "never"),
    "attention": ("{n} tài sản cần xử lý ({summary})", "{n} assets need attention ({summary})"),
    "most_urgent": ("; liệt kê {n} tài sản cấp bách nhất.",
                    "; the {n} most urgent are listed."),
    "no_attention": ("Không có tài sản nào cần kiểm tra hoặc sửa chữa.",
                     "No asset needs inspection or repair."),
    "inspection_rule": (" Đường: tình trạng 1–2, hoặc lần kiểm tra cuối cách cuối kỳ hơn "
                        "{months} tháng.",
                        " Roads: condition 1–2, or last inspected more than {months} months "
                        "before the end of the period."),
    "condition_n": ("tình trạng {n}/5", "condition {n}/5"),
    "never_inspected": ("chưa từng kiểm tra", "never inspected"),
    "overdue": ("quá hạn kiểm tra", "inspection overdue"),
    "counts_table": ("Tài sản trong khu vực theo loại", "Assets in the area by type"),
    "asset_type": ("Loại tài sản", "Asset type"),
    "count": ("Số lượng", "Count"),
    # air
    "air_title": ("Chất lượng không khí (VN_AQI)", "Air quality (VN_AQI)"),
    "air_stations": ("Trạm quan trắc (VN_AQI trung bình)", "Air stations (mean VN_AQI)"),
    "no_aqi": ("không có AQI trong kỳ", "no AQI in the period"),
    "station_popup": ("{station}: VN_AQI trung bình {mean} ({label}) trong {days} ngày",
                      "{station}: mean VN_AQI {mean} ({label}) over {days} days"),
    "station_no_aqi": ("{station}: không có AQI trong kỳ", "{station}: no AQI in the period"),
    "daily_chart": ("VN_AQI ngày theo trạm", "Daily VN_AQI per station"),
    "daily_caption": ("Dải nền: các mức VN_AQI. Mỗi đường là một trạm.",
                      "Background bands: VN_AQI classes. One line per station."),
    "daily_axis": ("VN_AQI (ngày)", "VN_AQI (daily)"),
    "no_daily": ("Không có VN_AQI ngày nào được ghi nhận cho các trạm này trong kỳ "
                 "{period}: chưa nạp số liệu quan trắc không khí cho kỳ này.",
                 "No daily VN_AQI is recorded for these stations between {period}: no "
                 "air-quality readings were loaded for the period."),
    "stations_map_note": ("Trạm tô màu theo VN_AQI ngày trung bình trong kỳ; màu xám: "
                          "không có AQI trong kỳ.",
                          "Stations coloured by their mean daily VN_AQI over the period; "
                          "grey: no AQI in the period."),
    "stations_outside": (" {far}/{total} trạm nằm ngoài khu vực (trong phạm vi {km} km).",
                         " {far} of {total} stations lie outside the area (within {km} km)."),
    "days_table": ("Số ngày theo mức VN_AQI của từng trạm",
                   "Days per VN_AQI class per station"),
    "station": ("Trạm", "Station"),
    "mean_aqi": ("AQI trung bình", "Mean AQI"),
    "max_aqi": ("AQI cao nhất", "Max AQI"),
    "location": ("Vị trí", "Location"),
    "in_area": ("trong khu vực", "in area"),
    "days_note": ("VN_AQI ngày: bụi tính từ trung bình 24 giờ, khí từ giá trị lớn nhất "
                  "trong ngày (Quyết định 1459/QĐ-TCMT).",
                  "Daily VN_AQI: PM from 24-hour means, gases from daily maxima "
                  "(Decision 1459/QĐ-TCMT)."),
    "surface_layer": ("Bề mặt PM2.5 nội suy (trung bình kỳ)",
                      "Interpolated PM2.5 surface (period mean)"),
    "surface_map_note": (" Dưới các trạm: bề mặt PM2.5 nội suy, trung bình {hours} giờ có bề "
                         "mặt trong kỳ, phân mức theo ngưỡng PM2.5 của VN_AQI.",
                         " Under the stations: the interpolated PM2.5 surface, mean of the "
                         "{hours} hours of the period that have one, classed at the VN_AQI "
                         "breakpoints of PM2.5."),
    "no_surface": ("Không có bề mặt PM2.5 nội suy nào được lưu trong kỳ {period}: bản đồ "
                   "chỉ có các trạm và không lập được bảng số giờ theo phường.",
                   "No interpolated PM2.5 surface is stored for the period {period}: the "
                   "map shows the stations only and there is no table of hours per ward."),
    "hours_table": ("Số giờ theo mức VN_AQI của từng phường/xã (từ bề mặt nội suy)",
                    "Hours per VN_AQI class per ward (from the interpolated surfaces)"),
    "ward": ("Phường/xã", "Ward"),
    "no_surface_hours": ("Không có bề mặt", "No surface"),
    "hours": ("Số giờ", "Hours"),
    "hours_note": ("Mỗi giờ của kỳ ({hours} giờ), mỗi phường/xã được xếp mức theo giá trị "
                   "PM2.5 trung bình của các ô lưới trong phường/xã, tại các ngưỡng PM2.5 của "
                   "VN_AQI (Quyết định 1459/QĐ-TCMT); \"Không có bề mặt\": giờ không có bề "
                   "mặt nào phủ phường/xã. Phường/xã theo {map}.",
                   "For each hour of the period ({hours} hours) each ward takes the class of "
                   "the mean PM2.5 of its grid cells, at the VN_AQI breakpoints of PM2.5 "
                   "(Decision 1459/QĐ-TCMT); \"No surface\": hours with no surface over the "
                   "ward. Wards of {map}."),
    "period_map": ("bản đồ hành chính có hiệu lực vào ngày cuối kỳ",
                   "the administrative map in force on the period's last day"),
    # flood
    "flood_title": ("Ngập lụt", "Flooding"),
    "no_flood": ("Không có vùng ngập nào được ghi nhận tại {area} trong kỳ {period}. Vùng "
                 "ngập lấy từ mô hình ngập hoặc khảo sát (lớp flood_extents); không vùng nào "
                 "phủ khu vực và kỳ này, nên không có đường, điểm dừng xe buýt hay thửa đất "
                 "nào bị ảnh hưởng.",
                 "No flood extents are recorded in {area} between {period}. Flood extents "
                 "come from the flood model or from surveys (layer flood_extents); none "
                 "covers this area and period, so no road, bus stop or parcel is reported "
                 "as exposed."),
    "no_flood_map": ("Không có vùng ngập trong kỳ.", "No flood extents in the period."),
    "flood_extents": ("Vùng ngập (độ sâu)", "Flood extents (depth)"),
    "flood_popup": ("{scenario} {when}: độ sâu {depth} m", "{scenario} {when}: depth {depth} m"),
    "flood_map_note": ("Chồng tất cả vùng ngập có hiệu lực trong kỳ, sâu nhất ở trên; kịch "
                       "bản: {scenarios}.",
                       "All extents valid in the period overlaid, deepest on top; "
                       "scenario(s): {scenarios}."),
    "flood_chart": ("Chiều dài đường ngập theo giờ", "Flooded road length per hour"),
    "flood_chart_caption": ("Số km đường nằm trong các vùng ngập có hiệu lực mỗi giờ.",
                            "Road kilometres inside the extents valid in each hour."),
    "flood_axis": ("đường ngập (km)", "flooded road (km)"),
    "road_flood_table": ("Chiều dài đường ngập theo cấp (km)",
                         "Flooded road length by class (km)"),
    "flooded_any": ("Ngập (mọi độ sâu)", "Flooded (any depth)"),
    "deeper": ("Sâu hơn 0,5 m", "Deeper than 0.5 m"),
    "union_note": ("Hợp các vùng ngập trong kỳ.", "Union of the extents over the period."),
    "no_road_flood": ("Không có đường nào bị ngập.", "No road is reached by the flood extents."),
    "stops_table": ("Điểm dừng xe buýt bị ảnh hưởng", "Bus stops exposed"),
    "stop": ("Điểm dừng", "Stop"),
    "name": ("Tên", "Name"),
    "deepest": ("Nước sâu nhất", "Deepest water"),
    "stops_note": ("{n} điểm dừng xe buýt bị ảnh hưởng", "{n} bus stops exposed"),
    "stops_shown": ("; liệt kê {n} điểm ngập sâu nhất.", "; the {n} deepest are listed."),
    "no_stops": ("Không có điểm dừng xe buýt nào nằm trong vùng ngập.",
                 "No bus stop is inside a flood extent."),
    "parcels_table": ("Thửa đất bị ảnh hưởng, theo loại đất", "Land parcels exposed, by land use"),
    "land_use": ("Loại đất", "Land use"),
    "parcels": ("Số thửa", "Parcels"),
    "area_wet": ("Diện tích ngập (ha)", "Area under water (ha)"),
    "all_land_uses": ("tất cả loại đất", "all land uses"),
    "no_parcels": ("Không có thửa đất nào bị ngập.",
                   "No land parcel is reached by the flood extents."),
    "depth": ("độ sâu {label}", "depth {label}"),
}


def say(key: str, lang: str, **fields) -> str:
    """The text of ``key`` in ``lang`` (vi unless ``en``), its ``{fields}`` filled."""
    vi, en = _W[key]
    text = en if normalise(lang) == "en" else vi
    return text.format(**fields) if fields else text


def brand(lang: str, place: str) -> str:
    """"Bản sao số Hà Nội" / "Hà Nội digital twin": the city's name from its profile."""
    return say("digital_twin", lang, place=place) if place else say("digital_twin_plain", lang)


def pick(lang: str, vi: str, en: str) -> str:
    return en if normalise(lang) == "en" else vi


# --- value labels ------------------------------------------------------------------

# VN_AQI classes (Decision 1459/QĐ-TCMT names; the decision's English names).
AQI_CLASSES = (("Tốt", "Good"), ("Trung bình", "Moderate"), ("Kém", "Poor"),
               ("Xấu", "Bad"), ("Rất xấu", "Very bad"), ("Nguy hại", "Hazardous"))
AQI_RANGES = ("0–50", "51–100", "101–150", "151–200", "201–300", "301–500")

ROAD_CLASSES = {
    "motorway": ("cao tốc", "motorway"), "trunk": ("trục chính", "trunk"),
    "primary": ("đường chính", "primary"), "secondary": ("đường cấp hai", "secondary"),
    "tertiary": ("đường cấp ba", "tertiary"), "unclassified": ("chưa phân cấp", "unclassified"),
    "residential": ("đường khu dân cư", "residential"), "service": ("đường công vụ", "service"),
    "living_street": ("phố đi bộ chung", "living street"),
    "pedestrian": ("phố đi bộ", "pedestrian"), "track": ("đường đất", "track"),
    "busway": ("làn xe buýt", "busway"), "bus_guideway": ("làn xe buýt riêng", "bus guideway"),
    "road": ("đường (chưa rõ cấp)", "road"), "escape": ("làn thoát hiểm", "escape lane"),
    "paths": ("lối đi, đường mòn", "paths"), "other": ("khác", "other"),
}
CONDITIONS = {"1": ("1 rất kém", "1 very poor"), "2": ("2 kém", "2 poor"),
              "3": ("3 trung bình", "3 fair"), "4": ("4 tốt", "4 good"),
              "5": ("5 rất tốt", "5 very good"), "unknown": ("chưa đánh giá", "not assessed")}
ASSET_KINDS = {"road": ("đường", "road"), "traffic sign": ("biển báo", "traffic sign"),
               "traffic signal": ("đèn tín hiệu", "traffic signal"),
               "camera": ("camera", "camera")}
ASSET_COUNTS = {"road segments": ("đoạn đường", "road segments"),
                "bus stops": ("điểm dừng xe buýt", "bus stops"),
                "bus routes": ("tuyến xe buýt", "bus routes"),
                "traffic signs": ("biển báo", "traffic signs"),
                "traffic signals": ("đèn tín hiệu", "traffic signals"),
                "cameras": ("camera", "cameras"), "parking sites": ("điểm đỗ xe", "parking sites")}
STATES = {  # enum values of the asset layers, as reasons and popups print them
    "poor": ("kém", "poor"), "damaged": ("hư hỏng", "damaged"), "missing": ("mất", "missing"),
    "good": ("tốt", "good"), "fair": ("trung bình", "fair"),
    "fault": ("lỗi", "fault"), "offline": ("mất kết nối", "offline"),
    "operational": ("hoạt động", "operational"), "online": ("hoạt động", "online"),
    "maintenance": ("bảo trì", "maintenance"), "monitoring": ("giám sát", "monitoring"),
    "enforcement": ("xử phạt", "enforcement"), "anpr": ("nhận dạng biển số", "ANPR"),
    "surveillance": ("an ninh", "surveillance"),
}
STATE_PREFIX = {"traffic sign": ("biển báo", "sign"), "traffic signal": ("đèn", "signal"),
                "camera": ("camera", "camera")}
LAND_USE = {
    "ODT": "đất ở tại đô thị", "ONT": "đất ở tại nông thôn", "CLN": "đất trồng cây lâu năm",
    "LUC": "đất chuyên trồng lúa nước", "LUK": "đất trồng lúa nước còn lại",
    "BHK": "đất bằng trồng cây hàng năm khác", "NTS": "đất nuôi trồng thủy sản",
    "DGT": "đất giao thông", "DTL": "đất thủy lợi", "DGD": "đất cơ sở giáo dục và đào tạo",
    "DYT": "đất cơ sở y tế", "DVH": "đất cơ sở văn hóa", "DTT": "đất cơ sở thể dục thể thao",
    "TMD": "đất thương mại, dịch vụ", "SKC": "đất cơ sở sản xuất phi nông nghiệp",
    "TSC": "đất xây dựng trụ sở cơ quan", "CQP": "đất quốc phòng", "CAN": "đất an ninh",
    "TON": "đất cơ sở tôn giáo", "NTD": "đất nghĩa trang, nghĩa địa",
    "DKV": "đất khu vui chơi, giải trí công cộng", "SON": "đất sông, ngòi, kênh, rạch, suối",
    "MNC": "đất có mặt nước chuyên dùng", "CSD": "đất chưa sử dụng",
}


def label(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    """A value's label from one of the tables above; the value itself when unknown."""
    pair = table.get(key)
    return pick(lang, *pair) if pair else key


def aqi_label(level: int, lang: str, ranges: bool = True) -> str:
    """"Trung bình (51–100)" / "Moderate (51–100)" for VN_AQI class ``level`` 1..6."""
    name = pick(lang, *AQI_CLASSES[level - 1])
    return f"{name} ({AQI_RANGES[level - 1]})" if ranges else name


def land_use(code: str, english: str, lang: str) -> str:
    """A land-use row: the code and its name (the layer's English label in English)."""
    if normalise(lang) == "en" or code not in LAND_USE:
        return english
    return f"{code} {LAND_USE[code]}"
