"""Control-plane details: tag keys and values outside AWS's tagging rules, DescribeContinuousBackups,
and the description DeleteTable returns."""

import pytest
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table, raw_request

PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"


def arn_of(ddb, table):
    return ddb.describe_table(TableName=table)["Table"]["TableArn"]


@pytest.mark.parametrize("key,value,member,shown", [
    ("a#b", "v", "key", "a#b"), ("ok", "v!", "value", "v!"), ("tab\tkey", "v", "key", "tab\tkey"),
    ("semi;colon", "v", "key", "semi;colon"), ("ok", "<html>", "value", "<html>"), ("ok", "new\nline", "value", "new\nline"),
])
def test_tag_characters_outside_the_tagging_rules_are_refused(ddb, ddb_nv, table, key, value, member, shown):
    arn = arn_of(ddb, table)
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.tag_resource(ResourceArn=arn, Tags=[{"Key": key, "Value": value}])
    assert_client_error(excinfo, "ValidationException")
    assert excinfo.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{shown}' at 'tags.1.member.{member}' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {PATTERN}")
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []


def test_tag_characters_within_the_rules_are_kept(ddb, table):
    arn = arn_of(ddb, table)
    tags = [{"Key": "Ünïcødé key 1", "Value": "ĉiu ŝtono ١٢٣"}, {"Key": "a.b:c/d=e+f-g@h_i", "Value": ""},
            {"Key": "AWS:upper-case-prefix", "Value": "x"}, {"Key": "\u3000wide space", "Value": "日本語"}]
    ddb.tag_resource(ResourceArn=arn, Tags=tags)
    stored = ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert sorted(stored, key=lambda t: t["Key"]) == sorted(tags, key=lambda t: t["Key"])


def test_empty_tag_key_is_too_short(ddb, ddb_nv, table):
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.tag_resource(ResourceArn=arn_of(ddb, table), Tags=[{"Key": "", "Value": "v"}])
    assert_client_error(excinfo, "ValidationException",
                        "Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1")


def test_create_table_refuses_bad_tag_characters(ddb, ddb_nv):
    with pytest.raises(ClientError) as excinfo:
        create_table(ddb_nv, Tags=[{"Key": "bad|key", "Value": "v"}])
    assert_client_error(excinfo, "ValidationException", "Member must satisfy regular expression pattern")


def test_describe_continuous_backups(ddb, table):
    response = ddb.describe_continuous_backups(TableName=table)
    assert response["ContinuousBackupsDescription"] == {
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
    }


def test_describe_continuous_backups_of_a_missing_table(ddb):
    with pytest.raises(ClientError) as excinfo:
        ddb.describe_continuous_backups(TableName="no-such-table")
    assert_client_error(excinfo, "TableNotFoundException", "Table not found: no-such-table")


def test_describe_continuous_backups_validates_the_name(server):
    response = raw_request(server.port, "DynamoDB_20120810.DescribeContinuousBackups", {"TableName": "x"})
    assert response.status == 400
    assert response.error_code == "ValidationException"
    assert "Member must have length greater than or equal to 3" in response.message


def test_delete_table_returns_the_short_deleting_description(ddb):
    name = create_table(ddb, billing="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    arn = arn_of(ddb, name)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    description = ddb.delete_table(TableName=name)["TableDescription"]
    assert description["TableStatus"] == "DELETING"
    assert description["TableName"] == name and description["TableArn"] == arn
    assert description["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
    assert {"ItemCount", "TableSizeBytes", "TableId"} <= set(description)
    # DynamoDB's DeleteTable answer carries no schema and no creation time.
    assert not {"KeySchema", "AttributeDefinitions", "CreationDateTime"} & set(description)


def test_every_broken_tag_constraint_is_reported_at_once(ddb, ddb_nv, table):
    tags = [{"Key": "fine", "Value": "ok"}, {"Key": "k" * 129, "Value": "v!"}]
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.tag_resource(ResourceArn=arn_of(ddb, table), Tags=tags)
    assert_client_error(excinfo, "ValidationException")
    assert excinfo.value.response["Error"]["Message"] == (
        f"2 validation errors detected: Value '{'k' * 129}' at 'tags.2.member.key' failed to satisfy constraint: "
        "Member must have length less than or equal to 128; Value 'v!' at 'tags.2.member.value' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {PATTERN}")
