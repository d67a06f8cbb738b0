"""How many DescribeInstances pages per second the Alibaba Cloud emulator serves, through the official SDK.

    .venv/bin/python bench/bench_emulator.py                      # 3,000 instances, 5 s per figure
    .venv/bin/python bench/bench_emulator.py --instances 10000 --seconds 3 --clients 1,2,4

The emulator runs as its own process (the ``alicloud-emulator`` command, as a demo or an inventory benchmark runs
it), populated with RunInstances Amount=100 across four regions. Each figure is pages of 100 instances per second
over a fixed time, fetched by the legacy core SDK (aliyun-python-sdk-ecs request classes), by 1..N client processes
(processes, so the clients' own JSON work does not share one interpreter lock). Both paging styles are measured.
The emulator's own CPU time per page is printed too: on a busy shared host the wall-clock rate mostly measures the
neighbours, while 1000 / (CPU ms per page) is what one emulator core could serve. The benchmark prints figures and
asserts nothing about them.
"""
import argparse
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import time

REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing", "ap-southeast-1")
IMAGE = "debian_12_9_x64_20G_alibase_20250117.vhd"


def _client(endpoint, access_key_id, secret, region):
    from aliyunsdkcore.client import AcsClient
    client = AcsClient(access_key_id, secret, region, auto_retry=False)

    def call(action, **params):
        module = __import__(f"aliyunsdkecs.request.v20140526.{action}Request", fromlist=[f"{action}Request"])
        request = getattr(module, f"{action}Request")()
        request.set_endpoint(endpoint)
        request.set_protocol_type("http")
        for name, value in params.items():
            if name == "RegionId":
                request.add_query_param(name, value)
            else:
                getattr(request, f"set_{name}")(value)
        return json.loads(client.do_action_with_exception(request))
    return call


def _vpc_call(endpoint, access_key_id, secret, region, action, **params):
    from aliyunsdkcore.client import AcsClient
    module = __import__(f"aliyunsdkvpc.request.v20160428.{action}Request", fromlist=[f"{action}Request"])
    request = getattr(module, f"{action}Request")()
    request.set_endpoint(endpoint)
    request.set_protocol_type("http")
    request.add_query_param("RegionId", region)
    for name, value in params.items():
        getattr(request, f"set_{name}")(value)
    return json.loads(AcsClient(access_key_id, secret, region, auto_retry=False).do_action_with_exception(request))


def populate(endpoint, access_key_id, secret, total, admin_url):
    """RunInstances Amount=100 spread over the regions; returns instances per region."""
    per_region = {region: 0 for region in REGIONS}
    for index, region in enumerate(REGIONS):
        share = total // len(REGIONS) + (1 if index < total % len(REGIONS) else 0)
        if share == 0:
            continue
        vpc_id = _vpc_call(endpoint, access_key_id, secret, region, "CreateVpc", CidrBlock="10.0.0.0/8")["VpcId"]
        _advance(admin_url, 10)
        zone = _client(endpoint, access_key_id, secret, region)("DescribeZones", RegionId=region)
        zone_id = zone["Zones"]["Zone"][0]["ZoneId"]
        vswitch_id = _vpc_call(endpoint, access_key_id, secret, region, "CreateVSwitch", VpcId=vpc_id,
                               ZoneId=zone_id, CidrBlock="10.0.0.0/16")["VSwitchId"]
        _advance(admin_url, 10)
        ecs = _client(endpoint, access_key_id, secret, region)
        group_id = ecs("CreateSecurityGroup", RegionId=region, VpcId=vpc_id)["SecurityGroupId"]
        left = share
        while left:
            amount = min(100, left)
            ecs("RunInstances", RegionId=region, ImageId=IMAGE, InstanceType="ecs.g7.large", VSwitchId=vswitch_id,
                SecurityGroupId=group_id, Amount=amount, Tags=[{"Key": "bench", "Value": "yes"}])
            left -= amount
        per_region[region] = share
    _advance(admin_url, 60)
    return per_region


def _advance(admin_url, seconds):
    import urllib.request
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{admin_url}/_emulator/clock", data=json.dumps({"advance": seconds}).encode(),
                                     method="POST", headers={
                                         "Content-Type": "application/json",
                                         "Authorization": "Bearer " + os.environ["ALICLOUD_EMULATOR_ADMIN_TOKEN"]})
    opener.open(request, timeout=10).read()


def _measure_worker(args):
    endpoint, access_key_id, secret, region, style, seconds, start_at = args
    call = _client(endpoint, access_key_id, secret, region)
    while time.time() < start_at:
        time.sleep(0.01)
    pages = instances = 0
    page_number, token = 1, None
    deadline = time.time() + seconds
    while time.time() < deadline:
        if style == "PageNumber":
            answer = call("DescribeInstances", RegionId=region, PageSize=100, PageNumber=page_number)
            page_number = page_number + 1 if answer["Instances"]["Instance"] else 1
        else:
            params = {"RegionId": region, "MaxResults": 100}
            if token:
                params["NextToken"] = token
            answer = call("DescribeInstances", **params)
            token = answer["NextToken"] or None
        pages += 1
        instances += len(answer["Instances"]["Instance"])
    return pages, instances


def measure(endpoint, access_key_id, secret, style, clients, seconds):
    start_at = time.time() + 0.5
    jobs = [(endpoint, access_key_id, secret, REGIONS[n % len(REGIONS)], style, seconds, start_at)
            for n in range(clients)]
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(_measure_worker, jobs)
    pages = sum(result[0] for result in results)
    instances = sum(result[1] for result in results)
    return pages / seconds, instances / seconds


def cpu_seconds(pid):
    """User + system CPU time of a process (Linux /proc), to tell the emulator's cost from the clients'."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=3000, help="instances to create (default 3000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement (default 5)")
    parser.add_argument("--clients", default="1,4", help="client process counts to measure (default 1,4)")
    options = parser.parse_args()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        os.environ.pop(name, None)
    access_key_id, secret = "LTAIbench", secrets.token_urlsafe(16)
    # The admin token (for the clock) reaches the emulator, like the secret, through the environment.
    os.environ["ALICLOUD_EMULATOR_ADMIN_TOKEN"] = secrets.token_urlsafe(32)
    env = dict(os.environ, ALICLOUD_EMULATOR_SECRET=secret)
    server = subprocess.Popen([sys.executable, "-m", "alicloud_emulator", "--port", "0", "--access-key-id",
                               access_key_id, "--clock-speed", "200"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise SystemExit(f"the emulator did not start: {line!r}")
        url = line[len("listening on "):]
        endpoint = url[len("http://"):]
        started = time.time()
        per_region = populate(endpoint, access_key_id, secret, options.instances, url)
        print(f"emulator {url}: {options.instances} instances in {len(REGIONS)} regions "
              f"({', '.join(f'{r}={n}' for r, n in per_region.items())}) created in {time.time() - started:.1f} s")
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (figures scale with it)")
        print(f"{'paging':<22}{'clients':>8}{'pages/s':>10}{'instances/s':>13}{'emulator CPU ms/page':>22}")
        for style in ("PageNumber", "NextToken"):
            for clients in (int(value) for value in options.clients.split(",")):
                cpu_before = cpu_seconds(server.pid)
                pages, instances = measure(endpoint, access_key_id, secret, style, clients, options.seconds)
                cpu_per_page = (cpu_seconds(server.pid) - cpu_before) / max(pages * options.seconds, 1) * 1000
                label = "PageNumber/PageSize" if style == "PageNumber" else "MaxResults/NextToken"
                print(f"{label:<22}{clients:>8}{pages:>10.1f}{instances:>13.0f}{cpu_per_page:>22.2f}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
