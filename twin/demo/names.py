"""Names for the synthetic city: districts, wards, streets and people.

The districts and their approximate centres, areas and populations are real
(2019 census, rounded); which ward lies where, and every street's position,
are synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    code: str            # GSO district code
    name: str
    abbrev: str          # used in asset and station codes
    centre: tuple[float, float]  # lon, lat
    area_km2: float
    population: int
    inner: bool          # old inner district: "Phố ..." street names
    wards: tuple[str, ...]
    streets: tuple[str, ...]


DISTRICTS: tuple[District, ...] = (
    District("001", "Ba Đình", "BD", (105.8190, 21.0360), 9.2, 221_900, True,
             ("Phúc Xá", "Trúc Bạch", "Vĩnh Phúc", "Cống Vị", "Liễu Giai", "Quán Thánh",
              "Ngọc Hà", "Điện Biên", "Đội Cấn", "Kim Mã"),
             ("Kim Mã", "Giảng Võ", "Đội Cấn", "Liễu Giai", "Văn Cao", "Hoàng Hoa Thám",
              "Quán Thánh", "Phan Đình Phùng", "Điện Biên Phủ", "Nguyễn Thái Học", "Hùng Vương",
              "Ngọc Hà", "Đào Tấn", "Nguyễn Chí Thanh", "Thành Công", "Ngọc Khánh",
              "Nguyễn Trường Tộ", "Phó Đức Chính", "Châu Long", "Hòe Nhai", "Cửa Bắc",
              "Phan Huy Ích", "Lạc Chính", "Trúc Bạch", "Nguyễn Cảnh Chân", "Vạn Phúc")),
    District("002", "Hoàn Kiếm", "HK", (105.8520, 21.0290), 5.3, 135_600, True,
             ("Tràng Tiền", "Hàng Bạc", "Hàng Bồ", "Hàng Buồm", "Hàng Đào", "Hàng Gai",
              "Hàng Trống", "Lý Thái Tổ", "Cửa Đông", "Chương Dương"),
             ("Hàng Bạc", "Hàng Đào", "Hàng Ngang", "Hàng Gai", "Hàng Bông", "Hàng Trống",
              "Hàng Bài", "Đinh Tiên Hoàng", "Lê Thái Tổ", "Tràng Tiền", "Tràng Thi",
              "Lý Thường Kiệt", "Bà Triệu", "Phan Chu Trinh", "Ngô Quyền", "Quang Trung",
              "Hàng Buồm", "Hàng Mã", "Hàng Chiếu", "Lương Văn Can", "Hàng Cót", "Đồng Xuân",
              "Hàng Giấy", "Phùng Hưng", "Lò Sũ", "Hàng Thùng", "Hàng Bè", "Mã Mây", "Tạ Hiện",
              "Nhà Thờ", "Lý Quốc Sư", "Bảo Khánh", "Hàng Khay", "Trần Hưng Đạo", "Hàng Vôi",
              "Phủ Doãn", "Quán Sứ", "Hàng Da", "Đường Thành", "Hàng Điếu")),
    District("003", "Tây Hồ", "TH", (105.8180, 21.0720), 24.0, 160_500, False,
             ("Phú Thượng", "Nhật Tân", "Tứ Liên", "Quảng An", "Xuân La", "Yên Phụ", "Bưởi",
              "Thụy Khuê"),
             ("Lạc Long Quân", "Âu Cơ", "Xuân Diệu", "Tô Ngọc Vân", "Quảng An", "Đặng Thai Mai",
              "Thụy Khuê", "Trích Sài", "Nghi Tàm", "Tứ Liên", "Nhật Chiêu", "Xuân La",
              "Quảng Bá", "Vệ Hồ", "Từ Hoa", "Phú Thượng", "An Dương Vương", "Văn Cao")),
    District("004", "Long Biên", "LB", (105.8940, 21.0400), 60.4, 322_500, False,
             ("Thượng Thanh", "Ngọc Thụy", "Giang Biên", "Đức Giang", "Việt Hưng", "Gia Thụy",
              "Ngọc Lâm", "Phúc Lợi", "Bồ Đề", "Sài Đồng"),
             ("Nguyễn Văn Cừ", "Ngô Gia Tự", "Nguyễn Văn Linh", "Cổ Linh", "Ngọc Lâm",
              "Gia Thụy", "Nguyễn Sơn", "Hồng Tiến", "Vũ Xuân Thiều", "Sài Đồng", "Phúc Lợi",
              "Thạch Bàn", "Đức Giang", "Ngọc Thụy", "Lâm Du", "Bồ Đề", "Hoa Lâm", "Ái Mộ",
              "Chu Huy Mân", "Trường Lâm", "Thanh Am", "Việt Hưng")),
    District("005", "Cầu Giấy", "CG", (105.7950, 21.0320), 12.3, 292_500, False,
             ("Nghĩa Đô", "Nghĩa Tân", "Mai Dịch", "Dịch Vọng", "Dịch Vọng Hậu", "Quan Hoa",
              "Yên Hòa", "Trung Hòa"),
             ("Xuân Thủy", "Cầu Giấy", "Trần Duy Hưng", "Nguyễn Khánh Toàn", "Hoàng Quốc Việt",
              "Trần Thái Tông", "Duy Tân", "Tôn Thất Thuyết", "Nguyễn Phong Sắc",
              "Dương Quảng Hàm", "Trần Quốc Hoàn", "Nguyễn Văn Huyên", "Hoàng Minh Giám",
              "Trung Kính", "Yên Hòa", "Dịch Vọng", "Mai Dịch", "Nguyễn Chánh", "Quan Hoa",
              "Trần Đăng Ninh", "Nguyễn Ngọc Vũ", "Hoàng Sâm")),
    District("006", "Đống Đa", "DD", (105.8270, 21.0160), 10.0, 371_600, True,
             ("Cát Linh", "Văn Miếu", "Quốc Tử Giám", "Láng Thượng", "Ô Chợ Dừa", "Láng Hạ",
              "Khâm Thiên", "Trung Liệt", "Kim Liên", "Phương Mai"),
             ("Tây Sơn", "Tôn Đức Thắng", "Xã Đàn", "Khâm Thiên", "Đường Láng", "Láng Hạ",
              "Thái Hà", "Chùa Bộc", "Phạm Ngọc Thạch", "Nguyễn Lương Bằng", "Hào Nam",
              "Đê La Thành", "Hoàng Cầu", "Trần Quang Diệu", "Thái Thịnh", "Yên Lãng",
              "Huỳnh Thúc Kháng", "Nguyên Hồng", "Văn Miếu", "Quốc Tử Giám", "Cát Linh",
              "Lê Duẩn", "Kim Liên", "Đông Các", "Ô Chợ Dừa")),
    District("007", "Hai Bà Trưng", "HB", (105.8570, 21.0070), 10.1, 303_600, True,
             ("Nguyễn Du", "Bạch Đằng", "Phạm Đình Hổ", "Lê Đại Hành", "Đồng Nhân", "Phố Huế",
              "Thanh Nhàn", "Bách Khoa", "Vĩnh Tuy", "Minh Khai"),
             ("Phố Huế", "Bạch Mai", "Minh Khai", "Lò Đúc", "Trần Khát Chân", "Đại Cồ Việt",
              "Lê Đại Hành", "Thanh Nhàn", "Kim Ngưu", "Bạch Đằng", "Nguyễn Du", "Trần Đại Nghĩa",
              "Tạ Quang Bửu", "Lê Thanh Nghị", "Hồng Mai", "Thể Giao", "Lê Văn Hưu", "Mai Hắc Đế",
              "Tô Hiến Thành", "Hàn Thuyên", "Võ Thị Sáu", "Nguyễn Công Trứ", "Hương Viên",
              "Vĩnh Tuy", "Hàng Chuối", "Yết Kiêu")),
    District("008", "Hoàng Mai", "HM", (105.8550, 20.9760), 40.3, 506_300, False,
             ("Hoàng Văn Thụ", "Giáp Bát", "Lĩnh Nam", "Thịnh Liệt", "Hoàng Liệt", "Yên Sở",
              "Vĩnh Hưng", "Định Công", "Đại Kim", "Tương Mai"),
             ("Giải Phóng", "Tam Trinh", "Lĩnh Nam", "Trương Định", "Định Công", "Kim Giang",
              "Nguyễn Hữu Thọ", "Linh Đường", "Bằng Liệt", "Tân Mai", "Tương Mai",
              "Nguyễn Đức Cảnh", "Hoàng Mai", "Mai Động", "Yên Sở", "Pháp Vân", "Kim Đồng",
              "Giáp Bát", "Nguyễn Chính", "Lê Trọng Tấn", "Đại Từ", "Vĩnh Hưng")),
    District("009", "Thanh Xuân", "TX", (105.8110, 20.9960), 9.1, 293_300, False,
             ("Nhân Chính", "Thượng Đình", "Khương Trung", "Khương Mai", "Thanh Xuân Trung",
              "Phương Liệt", "Hạ Đình", "Khương Đình", "Thanh Xuân Bắc", "Kim Giang"),
             ("Nguyễn Trãi", "Khuất Duy Tiến", "Lê Văn Lương", "Nguyễn Tuân", "Vũ Trọng Phụng",
              "Nguyễn Huy Tưởng", "Khương Đình", "Khương Trung", "Hoàng Văn Thái",
              "Vương Thừa Vũ", "Quan Nhân", "Nhân Hòa", "Nguyễn Văn Trỗi", "Cự Lộc", "Hạ Đình",
              "Bùi Xương Trạch", "Kim Giang", "Nguyễn Quý Đức", "Triều Khúc", "Nguyễn Ngọc Nại")),
    District("019", "Nam Từ Liêm", "NT", (105.7640, 21.0150), 32.2, 264_200, False,
             ("Cầu Diễn", "Xuân Phương", "Phương Canh", "Mỹ Đình 1", "Mỹ Đình 2", "Tây Mỗ",
              "Mễ Trì", "Phú Đô", "Đại Mỗ", "Trung Văn"),
             ("Lê Đức Thọ", "Nguyễn Hoàng", "Đỗ Đức Dục", "Mễ Trì", "Lương Thế Vinh", "Tố Hữu",
              "Trung Văn", "Đại Mỗ", "Hàm Nghi", "Nguyễn Cơ Thạch", "Hồ Tùng Mậu", "Cầu Diễn",
              "Lê Quang Đạo", "Châu Văn Liêm", "Trần Hữu Dực", "Miếu Đầm", "Đình Thôn",
              "Nguyễn Đổng Chi", "Mỹ Đình", "Phú Đô", "Xuân Phương", "Tây Mỗ")),
    District("021", "Bắc Từ Liêm", "BT", (105.7700, 21.0660), 45.3, 335_100, False,
             ("Thượng Cát", "Liên Mạc", "Đông Ngạc", "Đức Thắng", "Thụy Phương", "Xuân Đỉnh",
              "Xuân Tảo", "Cổ Nhuế 1", "Cổ Nhuế 2", "Phúc Diễn"),
             ("Tân Xuân", "Xuân Đỉnh", "Cổ Nhuế", "Đông Ngạc", "Trần Cung", "Phúc Diễn",
              "Kẻ Vẽ", "Đức Thắng", "Văn Tiến Dũng", "Hoàng Công Chất", "Phan Bá Vành",
              "Thụy Phương", "Nguyễn Hoàng Tôn", "Phạm Văn Đồng", "Hoàng Tăng Bí", "Đình Quán",
              "Trần Vỹ", "Phú Diễn", "Xuân La", "Liên Mạc")),
    District("268", "Hà Đông", "HD", (105.7760, 20.9660), 49.6, 382_600, False,
             ("Nguyễn Trãi", "Mộ Lao", "Văn Quán", "Vạn Phúc", "Yết Kiêu", "Quang Trung",
              "La Khê", "Phúc La", "Hà Cầu", "Kiến Hưng"),
             ("Quang Trung", "Trần Phú", "Tô Hiệu", "Lê Trọng Tấn", "Vạn Phúc", "Tố Hữu",
              "Lê Lợi", "Phùng Hưng", "Bà Triệu", "Nguyễn Khuyến", "Văn Khê", "Ba La",
              "Phan Đình Giót", "Chiến Thắng", "Vũ Văn Cẩn", "Ngô Thì Nhậm", "Mậu Lương",
              "Nguyễn Văn Lộc", "Lê Văn Lương", "Văn Phú", "Đa Sỹ")),
)

LONG_BIEN = "004"

# Streets that are conventionally written with their prefix.
PREFIXED = {"Phố Huế", "Đường Láng"}

FAMILY_NAMES = (("Nguyễn", 38.0), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.0), ("Hoàng", 5.0),
                ("Vũ", 4.0), ("Phan", 3.0), ("Đặng", 2.1), ("Bùi", 2.0), ("Đỗ", 1.4),
                ("Ngô", 1.3), ("Dương", 1.0), ("Đào", 0.9), ("Đinh", 0.9), ("Trịnh", 0.8),
                ("Lương", 0.6), ("Mai", 0.5), ("Tạ", 0.5), ("Hà", 0.5), ("Cao", 0.4),
                ("Chu", 0.4), ("Lý", 0.4), ("Hồ", 0.4), ("Nghiêm", 0.2), ("Kiều", 0.2))
MALE_MIDDLE = ("Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Xuân", "Thanh", "Công",
               "Mạnh", "Tiến", "Duy", "Ngọc", "Trọng")
FEMALE_MIDDLE = ("Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Minh", "Hồng", "Phương", "Kim",
                 "Lan", "Diệu", "Thùy", "Mai")
MALE_GIVEN = ("An", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hùng", "Huy", "Khánh", "Long",
              "Minh", "Nam", "Phong", "Quân", "Sơn", "Thắng", "Thành", "Tuấn", "Tùng", "Việt",
              "Hoàng", "Hiếu", "Trung", "Kiên", "Toàn", "Lâm", "Quang", "Thịnh", "Vinh", "Hưng")
FEMALE_GIVEN = ("Anh", "Bích", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương",
                "Lan", "Liên", "Linh", "Loan", "Mai", "Nga", "Ngọc", "Nhung", "Oanh", "Phương",
                "Quỳnh", "Thảo", "Thủy", "Trang", "Tuyết", "Vân", "Yến", "Huyền", "Hiền", "Ly")

# Institutions that hold non-residential parcels, by land-use code.
INSTITUTIONS = {
    "DGD": ("Trường Tiểu học {w}", "Trường THCS {w}", "Trường THPT {w}", "Trường Mầm non {w}"),
    "DYT": ("Trạm Y tế phường {w}", "Bệnh viện Đa khoa {d}", "Phòng khám Đa khoa {w}"),
    "TMD": ("Công ty CP Thương mại {w}", "Công ty TNHH Dịch vụ {w}", "Chợ {w}"),
    "TON": ("Chùa {w}", "Nhà thờ {w}"),
    "DVH": ("Nhà Văn hóa phường {w}", "Trung tâm Văn hóa {d}"),
    "DTT": ("Trung tâm Thể dục Thể thao {d}", "Sân vận động {w}"),
    "TSC": ("UBND phường {w}", "UBND quận {d}", "Công an phường {w}"),
    "CQP": ("Bộ Tư lệnh Thủ đô Hà Nội",),
    "SKC": ("Công ty CP Sản xuất {w}", "Xí nghiệp Cơ khí {w}"),
    "NTD": ("UBND phường {w}",),
}
