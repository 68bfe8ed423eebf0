// Legend labels of coded values (the `by` fields of the shared styles), part of the
// viewer's dictionary (i18n.js reads it). A value missing here, or a language missing
// from its entry, shows the server's label (English, codes and ranges as written in
// twin.styles), with decimal commas in Vietnamese.
// Land-use codes: Circular 08/2024/TT-BTNMT; road classes: OpenStreetMap's highway=*.

const both = (vi, en) => ({ vi, en });
const land = (code, vi) => [code, { vi: `${code} ${vi}` }];

export const VALUE_LABELS = {
  land_use: Object.fromEntries([
    land("ODT", "đất ở tại đô thị"), land("ONT", "đất ở tại nông thôn"),
    land("CLN", "đất trồng cây lâu năm"), land("LUC", "đất chuyên trồng lúa nước"),
    land("LUK", "đất trồng lúa nước còn lại"), land("BHK", "đất trồng cây hằng năm khác"),
    land("NTS", "đất nuôi trồng thủy sản"), land("DGT", "đất giao thông"),
    land("DTL", "đất thủy lợi"), land("DGD", "đất cơ sở giáo dục và đào tạo"),
    land("DYT", "đất cơ sở y tế"), land("DVH", "đất cơ sở văn hóa"),
    land("DTT", "đất cơ sở thể dục, thể thao"), land("TMD", "đất thương mại, dịch vụ"),
    land("SKC", "đất cơ sở sản xuất, kinh doanh"), land("TSC", "đất xây dựng trụ sở cơ quan"),
    land("CQP", "đất quốc phòng"), land("CAN", "đất an ninh"), land("TON", "đất tôn giáo"),
    land("NTD", "đất nghĩa trang, nghĩa địa"), land("DKV", "đất khu vui chơi, giải trí"),
    land("SON", "đất sông, ngòi, kênh, rạch"), land("MNC", "đất có mặt nước chuyên dùng"),
    land("CSD", "đất chưa sử dụng"),
  ]),
  road_class: {
    motorway: { vi: "đường cao tốc" }, trunk: { vi: "đường trục chính" },
    primary: { vi: "đường cấp 1" }, secondary: { vi: "đường cấp 2" },
    tertiary: { vi: "đường cấp 3" }, unclassified: { vi: "đường chưa phân cấp" },
    residential: { vi: "đường khu dân cư" }, service: { vi: "đường nội bộ" },
    motorway_link: { vi: "nhánh nối đường cao tốc" }, trunk_link: { vi: "nhánh nối đường trục" },
    primary_link: { vi: "nhánh nối đường cấp 1" }, secondary_link: { vi: "nhánh nối đường cấp 2" },
    tertiary_link: { vi: "nhánh nối đường cấp 3" }, living_street: { vi: "ngõ, phố đi bộ chung" },
    pedestrian: { vi: "phố đi bộ" }, track: { vi: "đường đất" }, busway: { vi: "làn xe buýt" },
    bus_guideway: { vi: "đường dẫn hướng xe buýt" }, road: { vi: "đường chưa rõ cấp" },
    escape: { vi: "làn thoát hiểm" }, footway: { vi: "lối đi bộ" }, path: { vi: "đường mòn" },
    cycleway: { vi: "đường xe đạp" }, bridleway: { vi: "đường cưỡi ngựa" },
    steps: { vi: "bậc thang" }, corridor: { vi: "hành lang" },
  },
  category: {
    prohibitory: { vi: "biển báo cấm" }, warning: { vi: "biển báo nguy hiểm và cảnh báo" },
    mandatory: { vi: "biển hiệu lệnh" }, information: { vi: "biển chỉ dẫn" },
    auxiliary: { vi: "biển phụ" },
  },
  kind: {
    air: { vi: "không khí" }, water_level: { vi: "mực nước" }, rain: { vi: "lượng mưa" },
    monitoring: { vi: "giám sát giao thông" }, enforcement: { vi: "phạt nguội" },
    anpr: { vi: "nhận dạng biển số" }, surveillance: { vi: "an ninh" },
    on_street: { vi: "đỗ xe dưới lòng đường" }, surface_lot: { vi: "bãi đỗ xe" },
    garage: { vi: "nhà để xe" },
  },
  level: {
    province: both("tỉnh, thành phố", "province"), district: both("quận, huyện", "district"),
    commune: both("xã", "commune"), ward: both("phường", "ward"),
    1: both("mức 1 (Tốt)", "level 1 (Good)"), 2: both("mức 2 (Trung bình)", "level 2 (Moderate)"),
    3: both("mức 3 (Kém)", "level 3 (Poor / Unhealthy for Sensitive Groups)"),
    4: both("mức 4 (Xấu)", "level 4 (Bad / Unhealthy)"),
    5: both("mức 5 (Rất xấu)", "level 5 (Very bad / Very Unhealthy)"),
    6: both("mức 6 (Nguy hại)", "level 6 (Hazardous)"),
  },
};
