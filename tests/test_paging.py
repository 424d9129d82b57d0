"""Query and Scan paging over a 20,000-item, 4.5 MB table: Limit pages, 1 MB pages (counted
before the filter), forward and backward, parallel scan segments. Every case collects the
whole result and compares the set and count of keys exactly: nothing lost, nothing repeated.

The table is loaded once (module fixture) by 8 threads of BatchWriteItem:
  p00..p18 × sk 0..999, ~170 bytes each;  p19 × sk 0..999, ~1.3 KB each (1.3 MB: a Query of
  that partition alone needs two 1 MB pages)."""

import concurrent.futures
import math

import pytest
from boto3.dynamodb.conditions import Attr

from conftest import create_table, number_size

PARTITIONS = [f"p{i:02d}" for i in range(20)]
BIG = "p19"
SORT_KEYS = range(1000)
MB = 1024 * 1024
MODULUS = 7


def make_item(pk: str, sk: int) -> dict:
    fill = ("x" * 1300) if pk == BIG else ("y" * 150)
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}, "grp": {"N": str(sk % MODULUS)}, "payload": {"S": fill}}


def item_size(item: dict) -> int:
    """DynamoDB's size of a flat item of S and N attributes."""
    total = 0
    for name, value in item.items():
        (kind, payload), = value.items()
        total += len(name.encode()) + (len(payload.encode()) if kind == "S" else number_size(payload))
    return total


ALL_KEYS = {(pk, sk) for pk in PARTITIONS for sk in SORT_KEYS}
SIZES = {(pk, sk): item_size(make_item(pk, sk)) for pk, sk in ALL_KEYS}
MAX_ITEM = max(SIZES.values())


@pytest.fixture(scope="module")
def big_table(server, ddb):
    name = create_table(ddb, range_key=("sk", "N"))
    batches = [[make_item(pk, sk) for sk in range(start, start + 25)] for pk in PARTITIONS for start in range(0, 1000, 25)]

    def load(worker: int) -> int:
        client = server.client()
        written = 0
        for batch in batches[worker::8]:
            response = client.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item}} for item in batch]})
            assert response["UnprocessedItems"] == {}
            written += len(batch)
        return written

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(load, range(8))) == len(ALL_KEYS)
    return name


def key_of(item: dict) -> tuple:
    return item["pk"]["S"], int(item["sk"]["N"])


def collect(call, **params) -> list[dict]:
    """Every page of a Query/Scan (responses, in order), following LastEvaluatedKey."""
    pages = []
    while True:
        response = call(**params)
        pages.append(response)
        if "LastEvaluatedKey" not in response:
            return pages
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        assert len(pages) < 5000, "paging does not terminate"


def keys(pages: list[dict]) -> list[tuple]:
    return [key_of(item) for page in pages for item in page["Items"]]


def assert_exactly(found: list[tuple], expected: set):
    assert len(found) == len(set(found)), f"{len(found) - len(set(found))} keys repeated"
    assert set(found) == expected, f"lost {len(expected - set(found))}, unexpected {len(set(found) - expected)}"


def assert_page_links(pages: list[dict]):
    """Each LastEvaluatedKey is exactly the key of the last item the page read."""
    for page in pages[:-1]:
        if page["Items"]:
            last = page["Items"][-1]
            assert page["LastEvaluatedKey"] == {"pk": last["pk"], "sk": last["sk"]}


def test_table_is_loaded(ddb, big_table):
    table = ddb.describe_table(TableName=big_table)["Table"]
    assert table["ItemCount"] == 20_000
    assert table["TableSizeBytes"] == sum(SIZES.values())  # also checks this module's size accounting
    assert table["TableSizeBytes"] > 3 * MB


# -- Query ----------------------------------------------------------------------------------


@pytest.mark.parametrize("forward", [True, False], ids=["forward", "backward"])
@pytest.mark.parametrize("pk", ["p00", BIG])
def test_query_partition_with_limit(ddb, big_table, forward, pk):
    pages = collect(ddb.query, TableName=big_table, KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": pk}}, Limit=37, ScanIndexForward=forward)
    found = keys(pages)
    assert_exactly(found, {(pk, sk) for sk in SORT_KEYS})
    assert [sk for _, sk in found] == sorted(SORT_KEYS, reverse=not forward)
    assert [page["Count"] for page in pages[:27]] == [37] * 27  # 1000 = 27 × 37 + 1
    assert sum(page["Count"] for page in pages) == 1000
    assert all(page["Count"] == page["ScannedCount"] for page in pages)
    assert_page_links(pages)


@pytest.mark.parametrize("forward", [True, False], ids=["forward", "backward"])
def test_query_partition_without_limit(ddb, big_table, forward):
    small = collect(ddb.query, TableName=big_table, KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "p00"}}, ScanIndexForward=forward)
    assert len(small) == 1 and small[0]["Count"] == 1000  # 170 KB: one page
    assert [sk for _, sk in keys(small)] == sorted(SORT_KEYS, reverse=not forward)

    pages = collect(ddb.query, TableName=big_table, KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": BIG}}, ScanIndexForward=forward)
    found = keys(pages)
    assert_exactly(found, {(BIG, sk) for sk in SORT_KEYS})
    assert [sk for _, sk in found] == sorted(SORT_KEYS, reverse=not forward)
    assert len(pages) == 2, [page["Count"] for page in pages]
    first = sum(SIZES[key] for key in keys(pages[:1]))
    assert MB - MAX_ITEM <= first <= MB + MAX_ITEM, first
    assert_page_links(pages)


def test_query_sort_key_range_with_limit(ddb, big_table):
    for forward in (True, False):
        pages = collect(ddb.query, TableName=big_table, KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                        ExpressionAttributeValues={":p": {"S": BIG}, ":a": {"N": "100"}, ":b": {"N": "899"}},
                        Limit=71, ScanIndexForward=forward)
        assert [sk for _, sk in keys(pages)] == sorted(range(100, 900), reverse=not forward)


def test_query_filter_with_limit_count_vs_scanned_count(ddb, big_table):
    pages = collect(ddb.query, TableName=big_table, KeyConditionExpression="pk = :p", FilterExpression="grp = :zero",
                    ExpressionAttributeValues={":p": {"S": "p03"}, ":zero": {"N": "0"}}, Limit=37)
    assert len(pages) == 28
    start = 0
    for page in pages:
        read = range(start, min(start + 37, 1000))
        assert page["ScannedCount"] == len(read)          # Limit counts items read, before the filter
        assert page["Count"] == len(page["Items"]) == sum(1 for sk in read if sk % MODULUS == 0)
        start += 37
    assert sum(page["Count"] for page in pages) == len(range(0, 1000, MODULUS))
    assert sum(page["ScannedCount"] for page in pages) == 1000
    assert [sk for _, sk in keys(pages)] == list(range(0, 1000, MODULUS))


def test_query_select_count_pages(ddb, big_table):
    pages = collect(ddb.query, TableName=big_table, KeyConditionExpression="pk = :p", Select="COUNT",
                    ExpressionAttributeValues={":p": {"S": BIG}})
    assert len(pages) == 2 and all("Items" not in page for page in pages)
    assert sum(page["Count"] for page in pages) == 1000


# -- Scan -----------------------------------------------------------------------------------


def test_scan_without_limit_uses_1_mb_pages(ddb, big_table):
    pages = collect(ddb.scan, TableName=big_table)
    assert_exactly(keys(pages), ALL_KEYS)
    total = sum(SIZES.values())
    assert len(pages) in (math.ceil(total / MB), math.ceil(total / MB) + 1), len(pages)
    for page in pages[:-1]:
        size = sum(SIZES[key_of(item)] for item in page["Items"])
        assert MB - MAX_ITEM <= size <= MB + MAX_ITEM, size
    assert_page_links(pages)


def test_scan_with_limit(ddb, big_table):
    pages = collect(ddb.scan, TableName=big_table, Limit=613)
    assert_exactly(keys(pages), ALL_KEYS)
    assert all(page["Count"] == 613 for page in pages[:-1])
    assert len(pages) in (math.ceil(20_000 / 613), math.ceil(20_000 / 613) + 1)
    assert_page_links(pages)


def test_scan_filter_pages_are_1_mb_before_the_filter(ddb, big_table):
    pages = collect(ddb.scan, TableName=big_table, FilterExpression="grp = :none", ExpressionAttributeValues={":none": {"N": "99"}})
    assert sum(page["Count"] for page in pages) == 0
    assert sum(page["ScannedCount"] for page in pages) == 20_000
    assert len(pages) > 1  # nothing matched, yet the read still stops at 1 MB per page
    assert all(page["Items"] == [] and "LastEvaluatedKey" in page for page in pages[:-1])

    pages = collect(ddb.scan, TableName=big_table, FilterExpression="grp = :zero", ExpressionAttributeValues={":zero": {"N": "0"}},
                    Limit=1000)
    # Limit or 1 MB, whichever comes first (1,000 items of p19 are 1.3 MB).
    assert all(page["ScannedCount"] <= 1000 for page in pages)
    assert sum(page["ScannedCount"] for page in pages) == 20_000
    assert_exactly(keys(pages), {(pk, sk) for pk, sk in ALL_KEYS if sk % MODULUS == 0})
    assert sum(page["Count"] for page in pages) == 20 * len(range(0, 1000, MODULUS))


def test_scan_projection_does_not_change_the_page(ddb, big_table):
    full = ddb.scan(TableName=big_table)
    projected = ddb.scan(TableName=big_table, ProjectionExpression="pk, sk")
    assert projected["ScannedCount"] == full["ScannedCount"]          # 1 MB of items read, not returned
    assert projected["LastEvaluatedKey"] == full["LastEvaluatedKey"]
    assert all(set(item) == {"pk", "sk"} for item in projected["Items"])


def test_scan_select_count_whole_table(ddb, big_table):
    pages = collect(ddb.scan, TableName=big_table, Select="COUNT")
    assert sum(page["Count"] for page in pages) == 20_000
    assert all("Items" not in page for page in pages)


def test_scan_consumed_capacity_is_summed_over_the_page(ddb, big_table):
    for consistent, factor in ((False, 0.5), (True, 1.0)):
        response = ddb.scan(TableName=big_table, Limit=500, ReturnConsumedCapacity="TOTAL", ConsistentRead=consistent)
        size = sum(SIZES[key_of(item)] for item in response["Items"])
        assert response["ConsumedCapacity"] == {"TableName": big_table, "CapacityUnits": math.ceil(size / 4096) * factor}


# -- parallel scan --------------------------------------------------------------------------


@pytest.mark.parametrize("total_segments,limit", [(4, None), (7, 700)])
def test_parallel_scan_covers_the_table_once(server, big_table, total_segments, limit):
    def scan_segment(segment):
        client = server.client()
        params = dict(TableName=big_table, Segment=segment, TotalSegments=total_segments)
        if limit:
            params["Limit"] = limit
        return keys(collect(client.scan, **params))

    with concurrent.futures.ThreadPoolExecutor(total_segments) as pool:
        segments = list(pool.map(scan_segment, range(total_segments)))
    everything = [key for segment in segments for key in segment]
    assert_exactly(everything, ALL_KEYS)
    assert all(segments), [len(s) for s in segments]  # 20 partitions spread over every segment
    owners = {}
    for index, segment in enumerate(segments):
        for pk, _ in segment:
            owners.setdefault(pk, set()).add(index)
    assert all(len(owner) == 1 for owner in owners.values()), owners  # a partition lives in one segment


def test_parallel_scan_one_segment_is_the_whole_table(ddb, big_table):
    pages = collect(ddb.scan, TableName=big_table, Segment=0, TotalSegments=1, ProjectionExpression="pk, sk")
    assert_exactly(keys(pages), ALL_KEYS)


def test_table_resource_scan_paging(server, big_table):
    tbl = server.resource().Table(big_table)
    found = []
    params = dict(FilterExpression=Attr("grp").eq(3) & Attr("pk").begins_with("p1"), ProjectionExpression="pk, sk")
    while True:
        response = tbl.scan(**params)
        found += [(item["pk"], int(item["sk"])) for item in response["Items"]]
        if "LastEvaluatedKey" not in response:
            break
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    assert_exactly(found, {(pk, sk) for pk, sk in ALL_KEYS if sk % MODULUS == 3 and pk.startswith("p1")})
