"""Control plane through boto3: CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable,
DescribeEndpoints, DescribeLimits, TagResource, UntagResource, ListTagsOfResource."""

import datetime

import pytest
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table, unique_name


def test_create_table_returns_full_description(ddb):
    name = unique_name()
    before = datetime.datetime.now(datetime.timezone.utc)
    response = ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
    )
    description = response["TableDescription"]
    assert description["TableName"] == name
    assert description["TableStatus"] == "ACTIVE"
    assert description["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                        {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert sorted(description["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]
    assert description["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert description["ProvisionedThroughput"]["WriteCapacityUnits"] == 4
    assert description["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert description["TableArn"] == f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}"
    assert description["ItemCount"] == 0
    assert description["TableSizeBytes"] == 0
    assert len(description["TableId"]) == 36 and description["TableId"].count("-") == 4
    created = description["CreationDateTime"]
    assert abs((created - before).total_seconds()) < 60
    assert description["DeletionProtectionEnabled"] is False


def test_describe_table_matches_create(ddb):
    name = create_table(ddb, hash_key=("id", "B"))
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["TableName"] == name
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "B"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert table["TableStatus"] == "ACTIVE"


def test_describe_table_counts_items(ddb, table):
    for i in range(3):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "n": {"N": "12345"}})
    description = ddb.describe_table(TableName=table)["Table"]
    assert description["ItemCount"] == 3
    # DynamoDB accounting: "pk"(2)+"k0"(2) + "n"(1)+ 5 digits→(5+1)//2+1=4 bytes = 9 per item.
    assert description["TableSizeBytes"] == 27


def test_create_existing_table_is_resource_in_use(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        create_table(ddb, name=table)
    assert_client_error(excinfo, "ResourceInUseException", f"Table already exists: {table}")


def test_describe_missing_table(ddb):
    with pytest.raises(ClientError) as excinfo:
        ddb.describe_table(TableName=unique_name("missing"))
    assert_client_error(excinfo, "ResourceNotFoundException", "Requested resource not found")


def test_list_tables_pagination(fresh_server):
    client = fresh_server.client()
    empty = client.list_tables()
    assert empty["TableNames"] == [] and "LastEvaluatedTableName" not in empty
    names = ["tbl-c", "tbl-a", "Tbl-B", "tbl-b"]
    for name in names:
        create_table(client, name=name)
    expected = sorted(names, key=lambda n: n.encode())  # byte order: upper case first
    everything = client.list_tables()
    assert everything["TableNames"] == expected
    assert "LastEvaluatedTableName" not in everything

    first = client.list_tables(Limit=2)
    assert first["TableNames"] == expected[:2]
    assert first["LastEvaluatedTableName"] == expected[1]
    second = client.list_tables(Limit=2, ExclusiveStartTableName=first["LastEvaluatedTableName"])
    assert second["TableNames"] == expected[2:]
    assert "LastEvaluatedTableName" not in second

    # boto3's paginator follows LastEvaluatedTableName.
    pages = list(client.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 1}))
    assert [n for page in pages for n in page["TableNames"]] == expected


def test_list_tables_default_page_is_100(server_factory):
    node = server_factory("many-tables", in_memory=True)
    client = node.client()
    names = sorted(f"tbl-{i:03d}" for i in range(101))
    for name in names:
        create_table(client, name=name)
    first = client.list_tables()
    assert first["TableNames"] == names[:100]
    assert first["LastEvaluatedTableName"] == names[99]
    rest = client.list_tables(ExclusiveStartTableName=first["LastEvaluatedTableName"])
    assert rest["TableNames"] == names[100:]
    assert "LastEvaluatedTableName" not in rest


def test_list_tables_limit_bounds(ddb_nv):
    for limit, phrase in ((0, "greater than or equal to 1"), (101, "less than or equal to 100")):
        with pytest.raises(ClientError) as excinfo:
            ddb_nv.list_tables(Limit=limit)
        assert_client_error(excinfo, "ValidationException", phrase)


def test_delete_table(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    response = ddb.delete_table(TableName=table)
    assert response["TableDescription"]["TableName"] == table
    assert response["TableDescription"]["TableStatus"] == "DELETING"
    assert table not in ddb.list_tables(Limit=100)["TableNames"]
    with pytest.raises(ClientError) as excinfo:
        ddb.describe_table(TableName=table)
    assert_client_error(excinfo, "ResourceNotFoundException")
    with pytest.raises(ClientError) as excinfo:
        ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert_client_error(excinfo, "ResourceNotFoundException")
    with pytest.raises(ClientError) as excinfo:
        ddb.delete_table(TableName=table)
    assert_client_error(excinfo, "ResourceNotFoundException")


def test_recreated_table_does_not_see_old_items(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "old"}, "v": {"S": "x"}})
    ddb.delete_table(TableName=table)
    create_table(ddb, name=table)
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "old"}}, ConsistentRead=True)
    assert ddb.describe_table(TableName=table)["Table"]["ItemCount"] == 0


def test_waiter_table_exists_and_not_exists(ddb):
    name = create_table(ddb)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    ddb.delete_table(TableName=name)
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 3})


def test_update_table_billing_and_throughput(ddb):
    name = create_table(ddb)
    updated = ddb.update_table(TableName=name, BillingMode="PROVISIONED",
                               ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 9})
    description = updated["TableDescription"]
    assert description["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert description["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert description["ProvisionedThroughput"]["WriteCapacityUnits"] == 9

    ddb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 11, "WriteCapacityUnits": 9})
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 11

    with pytest.raises(ClientError) as excinfo:
        ddb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 11, "WriteCapacityUnits": 9})
    assert_client_error(excinfo, "ValidationException", "The provisioned throughput for the table will not change")

    back = ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert back["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "LastUpdateToPayPerRequestDateTime" in back["BillingModeSummary"]


def test_update_table_requires_a_change(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.update_table(TableName=table)
    assert_client_error(excinfo, "ValidationException", "At least one of ProvisionedThroughput, BillingMode")


def test_update_table_unsupported_parameter(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
    assert_client_error(excinfo, "ValidationException", "Tern does not support StreamSpecification in UpdateTable")


def test_update_missing_table(ddb):
    with pytest.raises(ClientError) as excinfo:
        ddb.update_table(TableName=unique_name("missing"), DeletionProtectionEnabled=True)
    assert_client_error(excinfo, "ResourceNotFoundException")


def test_deletion_protection(ddb):
    name = create_table(ddb, DeletionProtectionEnabled=True)
    assert ddb.describe_table(TableName=name)["Table"]["DeletionProtectionEnabled"] is True
    with pytest.raises(ClientError) as excinfo:
        ddb.delete_table(TableName=name)
    assert_client_error(excinfo, "ValidationException", "currently protected against deletion")
    assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
    ddb.delete_table(TableName=name)
    assert name not in ddb.list_tables()["TableNames"]


def test_describe_endpoints(server, ddb):
    response = ddb.describe_endpoints()
    assert response["Endpoints"] == [{"Address": server.host, "CachePeriodInMinutes": 1440}]


def test_describe_limits(ddb):
    response = ddb.describe_limits()
    for key in ("AccountMaxReadCapacityUnits", "AccountMaxWriteCapacityUnits",
                "TableMaxReadCapacityUnits", "TableMaxWriteCapacityUnits"):
        assert isinstance(response[key], int) and response[key] > 0
    assert response["TableMaxReadCapacityUnits"] <= response["AccountMaxReadCapacityUnits"]


def test_tags_lifecycle(ddb):
    name = create_table(ddb, Tags=[{"Key": "env", "Value": "test"}])
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "test"}]

    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "db"}, {"Key": "env", "Value": "prod"}])
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"env": "prod", "team": "db"}

    ddb.untag_resource(ResourceArn=arn, TagKeys=["env", "not-there"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "db"}]


def test_concurrent_tag_resource_keeps_every_tag(server, ddb, table):
    import concurrent.futures
    import threading

    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    workers = 16
    clients = [server.client() for _ in range(workers)]
    for round_ in range(3):
        start = threading.Barrier(workers)

        def tag(i):
            start.wait()
            clients[i].tag_resource(ResourceArn=arn, Tags=[{"Key": f"r{round_}-k{i}", "Value": str(i)}])

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(tag, range(workers)))
    tags = {t["Key"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    expected = {f"r{r}-k{i}" for r in range(3) for i in range(workers)}
    assert tags == expected, f"{len(expected - tags)} acknowledged tags lost"


def test_tag_errors(ddb, table):
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    with pytest.raises(ClientError) as excinfo:
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert_client_error(excinfo, "ValidationException", "reserved for system use")

    with pytest.raises(ClientError) as excinfo:
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert_client_error(excinfo, "ValidationException", "The number of tags exceeds the limit of 50")

    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(ClientError) as excinfo:
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "one-more", "Value": "v"}])
    assert_client_error(excinfo, "LimitExceededException", "would exceed the limit of 50")
    assert len(ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]) == 50

    missing = arn.rsplit("/", 1)[0] + "/" + unique_name("missing")
    with pytest.raises(ClientError) as excinfo:
        ddb.list_tags_of_resource(ResourceArn=missing)
    assert_client_error(excinfo, "ResourceNotFoundException")

    with pytest.raises(ClientError) as excinfo:
        ddb.list_tags_of_resource(ResourceArn="not-an-arn-at-all")
    assert_client_error(excinfo, "ValidationException", "Invalid TableArn")
    with pytest.raises(ClientError) as excinfo:
        ddb.untag_resource(ResourceArn=missing, TagKeys=["k0"])
    assert_client_error(excinfo, "ResourceNotFoundException")


def test_tag_length_limits(ddb, ddb_nv, table):
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k" * 128, "Value": "v" * 256}])
    for tag, phrase in (({"Key": "k" * 129, "Value": "v"}, "Member must have length less than or equal to 128"),
                        ({"Key": "ok", "Value": "v" * 257}, "Member must have length less than or equal to 256"),
                        ({"Key": "", "Value": "v"}, "Member must have length greater than or equal to 1")):
        with pytest.raises(ClientError) as excinfo:
            ddb_nv.tag_resource(ResourceArn=arn, Tags=[tag])
        assert_client_error(excinfo, "ValidationException", phrase)
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "k" * 128, "Value": "v" * 256}]


def test_create_table_schema_errors(ddb, ddb_nv):
    cases = [
        # key attribute not in AttributeDefinitions
        (dict(AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "S"}],
              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}]),
         "Some index key attributes are not defined in AttributeDefinitions"),
        # a definition that is not a key
        (dict(AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                    {"AttributeName": "extra", "AttributeType": "S"}],
              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}]),
         "Number of attributes in KeySchema does not exactly match"),
        # RANGE first
        (dict(AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
              KeySchema=[{"AttributeName": "pk", "KeyType": "RANGE"}]),
         "The first KeySchemaElement is not a HASH key type"),
        # same attribute twice
        (dict(AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                    {"AttributeName": "pk", "AttributeType": "S"}],
              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}]),
         "Both the Hash Key and the Range Key element in the KeySchema have the same name"),
    ]
    for params, phrase in cases:
        name = unique_name("bad")
        with pytest.raises(ClientError) as excinfo:
            ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **params)
        assert_client_error(excinfo, "ValidationException", phrase)
        assert name not in ddb.list_tables()["TableNames"]

    # enum values are checked by the server (the client does not validate enums)
    name = unique_name("bad")
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "X"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    assert_client_error(excinfo, "ValidationException", "Member must satisfy enum value set: [B, N, S]")


def test_create_table_billing_errors(ddb_nv):
    ddb = ddb_nv
    key = dict(AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
               KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    name = unique_name("bad")
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}, **key)
    assert_client_error(excinfo, "ValidationException", "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified")
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(TableName=name, **key)  # PROVISIONED is the default
    assert_client_error(excinfo, "ValidationException", "ReadCapacityUnits and WriteCapacityUnits must both be specified")
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 0, "WriteCapacityUnits": 1}, **key)
    assert_client_error(excinfo, "ValidationException", "Member must have value greater than or equal to 1")
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 10**13, "WriteCapacityUnits": 1}, **key)
    assert_client_error(excinfo, "ValidationException", "for ReadCapacityUnits is out of bounds")
    assert name not in ddb.list_tables()["TableNames"]


def test_create_table_unsupported_features(ddb):
    key = dict(AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "g", "AttributeType": "S"}],
               KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    name = unique_name("gsi")
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(TableName=name, GlobalSecondaryIndexes=[{
            "IndexName": "g-index", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}], **key)
    assert_client_error(excinfo, "ValidationException", "Tern does not support secondary indexes yet")
    name = unique_name("stream")
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
                         AttributeDefinitions=key["AttributeDefinitions"][:1], KeySchema=key["KeySchema"],
                         BillingMode="PAY_PER_REQUEST")
    assert_client_error(excinfo, "ValidationException", "Tern does not support DynamoDB Streams yet")
    assert name not in ddb.list_tables()["TableNames"]


def test_table_name_constraints(ddb_nv):
    for bad, phrase in (("ab", "Member must have length greater than or equal to 3"),
                        ("x" * 256, "Member must have length less than or equal to 255"),
                        ("bad name!", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")):
        with pytest.raises(ClientError) as excinfo:
            ddb_nv.describe_table(TableName=bad)
        assert_client_error(excinfo, "ValidationException", phrase)
    # 255 characters with every allowed character class is a valid name.
    long_name = ("Az09_.-" * 40)[:255]
    create_table(ddb_nv, name=long_name)
    assert ddb_nv.describe_table(TableName=long_name)["Table"]["TableName"] == long_name
    ddb_nv.delete_table(TableName=long_name)
