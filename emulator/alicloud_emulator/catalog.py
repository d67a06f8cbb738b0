"""Static facts of the emulated cloud: regions, zones, instance types, public images, RDS classes."""
import re

# region id -> (local name, English name, resource id infix used by real ids in that region, zone suffixes)
REGIONS = {
    "cn-hangzhou": ("华东1（杭州）", "China (Hangzhou)", "bp1", ("h", "i", "j", "k")),
    "cn-shanghai": ("华东2（上海）", "China (Shanghai)", "uf6", ("e", "f", "g", "l")),
    "cn-beijing": ("华北2（北京）", "China (Beijing)", "2ze", ("h", "i", "j", "k", "l")),
    "cn-shenzhen": ("华南1（深圳）", "China (Shenzhen)", "wz9", ("a", "c", "d", "e")),
    "ap-southeast-1": ("新加坡", "Singapore", "t4n", ("a", "b", "c")),
}


def zones_of(region_id):
    local, english, suffixes = REGIONS[region_id][0], REGIONS[region_id][1], REGIONS[region_id][3]
    return [(f"{region_id}-{suffix}", f"{local} 可用区{suffix.upper()}", f"{english} Zone {suffix.upper()}")
            for suffix in suffixes]


def region_endpoint(product, region_id):
    if product == "ecs":
        return "ecs-cn-hangzhou.aliyuncs.com" if region_id == "cn-hangzhou" else f"ecs.{region_id}.aliyuncs.com"
    if product == "vpc":
        return "vpc.aliyuncs.com" if region_id in ("cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen") \
            else f"vpc.{region_id}.aliyuncs.com"
    return "rds.aliyuncs.com"


# Families and their memory per vCPU (GiB): c compute, g general, r memory, t burstable, u universal, e economy.
_FAMILY_MEMORY_RATIO = {"c": 2, "g": 4, "r": 8, "hf": 2, "hfc": 2, "hfg": 4}
_SIZE_VCPUS = {"small": 1, "medium": 1, "large": 2, "xlarge": 4}
INSTANCE_TYPE_PATTERN = re.compile(r"^ecs\.([a-z0-9-]+)\.(small|medium|large|xlarge|(\d+)xlarge)$")
# Types that appear in DescribeInstanceTypes; RunInstances also accepts any other well-formed ecs.<family>.<size>.
LISTED_INSTANCE_TYPES = (
    "ecs.t6-c1m1.large", "ecs.t6-c1m2.large", "ecs.t6-c1m4.large", "ecs.e-c1m2.large", "ecs.e-c1m4.large",
    "ecs.u1-c1m2.large", "ecs.u1-c1m4.xlarge", "ecs.c7.large", "ecs.c7.xlarge", "ecs.g7.large", "ecs.g7.xlarge",
    "ecs.g7.2xlarge", "ecs.r7.large", "ecs.g8i.large", "ecs.g8i.xlarge", "ecs.c8i.large",
)


def instance_type_shape(instance_type):
    """(vCPUs, memory MiB) of a well-formed type name, or None when the name is not an ECS type."""
    match = INSTANCE_TYPE_PATTERN.match(instance_type or "")
    if not match:
        return None
    family, size, multiple = match.group(1), match.group(2), match.group(3)
    vcpus = 4 * int(multiple) if multiple else _SIZE_VCPUS[size]
    ratio_match = re.search(r"c(\d+)m(\d+)", family)
    if ratio_match:
        ratio = int(ratio_match.group(2)) / int(ratio_match.group(1))
    else:
        ratio = _FAMILY_MEMORY_RATIO.get(re.sub(r"\d.*$", "", family), 4)
    return vcpus, int(vcpus * ratio * 1024)


# Public images listed by DescribeImages. RunInstances accepts these, any other public-image-like name
# (os_version_..._x64_20G_alibase_YYYYMMDD.vhd) and custom image ids (m-...): see README.
PUBLIC_IMAGES = (
    ("debian_12_9_x64_20G_alibase_20250117.vhd", "Debian", "Debian  12.9 64位", "linux"),
    ("debian_11_11_x64_20G_alibase_20241230.vhd", "Debian", "Debian  11.11 64位", "linux"),
    ("ubuntu_22_04_x64_20G_alibase_20250113.vhd", "Ubuntu", "Ubuntu  22.04 64位", "linux"),
    ("ubuntu_24_04_x64_20G_alibase_20250113.vhd", "Ubuntu", "Ubuntu  24.04 64位", "linux"),
    ("aliyun_3_x64_20G_alibase_20241218.vhd", "Aliyun", "Alibaba Cloud Linux  3.2104 LTS 64位", "linux"),
    ("centos_stream_9_x64_20G_alibase_20241210.vhd", "CentOS Stream", "CentOS Stream 9 64位", "linux"),
)
IMAGE_ID_PATTERN = re.compile(r"^(m-[0-9a-z]{8,30}|[a-z][a-z0-9]*(_[0-9a-z]+)+(\.vhd)?)$")


def image_os(image_id):
    """(platform, OS name, OS type) of an accepted image id, or None."""
    for known_id, platform, os_name, os_type in PUBLIC_IMAGES:
        if image_id == known_id:
            return platform, os_name, os_type
    if not IMAGE_ID_PATTERN.match(image_id or ""):
        return None
    if image_id.startswith("m-"):
        return "Custom", "Custom image", "linux"
    distribution = image_id.split("_")[0]
    if distribution.startswith("win"):
        return "Windows Server", image_id, "windows"
    return distribution.capitalize(), image_id, "linux"


RDS_ENGINES = {"PostgreSQL": ("10.0", "11.0", "12.0", "13.0", "14.0", "15.0", "16.0", "17.0")}
# RDS PostgreSQL classes: class -> (vCPUs, memory MB, max connections).
RDS_CLASSES = {
    "pg.n2.small.1": (1, 1024, 100), "pg.n2.medium.1": (2, 4096, 400), "pg.n2.small.2c": (1, 2048, 200),
    "pg.n2.medium.2c": (2, 4096, 400), "pg.n4.medium.2c": (2, 8192, 800), "pg.n2.large.1": (4, 8192, 800),
    "pg.n4.large.1": (4, 16384, 1600), "pg.x4.large.2c": (4, 16384, 1600), "pg.n2.2c.1m": (2, 4096, 400),
    "pg.n2.4c.2m": (4, 8192, 800), "pg.n2.2c.2m": (2, 8192, 800), "pg.n4.2c.1m": (2, 4096, 400),
    "pg.n4.4c.1m": (4, 8192, 800), "pgx.n2.medium.2c": (2, 4096, 400),
}

# What a zone sells: every listed type and class, except these. New generations reach zones one by one, and stock
# runs out, so the consoles (and DescribeAvailableResource / DescribeAvailableClasses) ask per zone.
ZONE_NOT_SOLD = {
    "cn-hangzhou-h": ("ecs.g8i.large", "ecs.g8i.xlarge", "ecs.c8i.large", "pg.x4.large.2c"),
    "cn-shanghai-e": ("ecs.g8i.large", "ecs.g8i.xlarge", "ecs.c8i.large"),
}
# Sold in the zone but out of stock now: listed with Status SoldOut, refused at creation.
ZONE_SOLD_OUT = {
    "cn-hangzhou-k": ("ecs.r7.large", "pg.n4.large.1"),
}


def zone_sells(zone_id, resource):
    """'Available', 'SoldOut' or None (not sold there) for a listed instance type or RDS class in a zone."""
    if resource in ZONE_NOT_SOLD.get(zone_id, ()):
        return None
    if resource not in LISTED_INSTANCE_TYPES and resource not in RDS_CLASSES:
        return None
    return "SoldOut" if resource in ZONE_SOLD_OUT.get(zone_id, ()) else "Available"
