"""Construct ids are an external contract: the logical ids of stateful resources never change.

A renamed construct id gives a resource a new logical id, and CloudFormation replaces it: a new
empty bucket, table or queue, a new key (the old data unreadable once the old key is deleted),
while the retained old one lingers outside the stack. This is the one test that names logical ids
on purpose. If it fails, the change would replace production data: keep the old construct id (or
plan a migration and update this list in the same commit, saying why).
"""

from __future__ import annotations

from typing import Any

import pytest

STATEFUL = {
    "AWS::S3::Bucket": ["StorageAccessLogs96FB524C", "StorageData6BB23F4E"],
    "AWS::KMS::Key": [
        "DataPathKey860F9F9C",
        "MonitoringAlarmTopicKey22E4A359",
        "NotificationsKeyADCFA950",
        "StorageKeyBAA9457B",
    ],
    "AWS::DynamoDB::Table": ["DataPathJobsTableBEA54C41"],
    "AWS::SQS::Queue": [
        "DataPathDispatchDeadLetterQueue844D1786",
        "DataPathDispatchQueue3C368676",
        "DataPathRecordDeadLetterQueue8E686E1F",
        "DataPathRecordQueueB3AF8DBE",
    ],
    "AWS::Logs::LogGroup": ["DataPathDispatcherLogs1BA7F806", "DataPathRecorderLogsA64E1E44"],
    "AWS::SNS::Topic": [
        "MonitoringAlarmTopic40534090",
        "NotificationsErrorTopic67330BF5",
        "NotificationsSuccessTopicEC8E8427",
    ],
    "AWS::Glue::Database": ["DataPathCatalogDatabaseADF300D6"],
    "AWS::Glue::Table": ["DataPathCatalogTable446DCCDB"],
    "AWS::Athena::WorkGroup": ["DataPathCatalogWorkGroupA6FC32EA"],
}


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("resource_type", sorted(STATEFUL))
def test_stateful_resources_keep_their_logical_ids(
    environment: str, resource_type: str, request: pytest.FixtureRequest
) -> None:
    template: Any = request.getfixturevalue(environment)
    assert sorted(template.find_resources(resource_type)) == STATEFUL[resource_type]
