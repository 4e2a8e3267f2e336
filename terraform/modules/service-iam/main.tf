locals {
  base         = strcontains(var.release_name, "inferpipe") ? var.release_name : "${var.release_name}-inferpipe"
  services     = ["producer-api", "gpu-consumer", "storage-sink", "webhook-notifier"]
  topic_arn    = replace(var.msk_cluster_arn, ":cluster/", ":topic/")
  group_arn    = replace(var.msk_cluster_arn, ":cluster/", ":group/")
  txn_arn      = replace(var.msk_cluster_arn, ":cluster/", ":transactional-id/")
  topic        = { for k, v in var.topics : k => "${local.topic_arn}/${v}" }
  connect      = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]
  # Every producer of the services is idempotent (enable.idempotence=true).
  idempotent = ["kafka-cluster:WriteDataIdempotently"]
  write_topic  = ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"]
  read_topic   = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
  group_access = ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"]
  # Every service keeps a status table: it reads the status topic (no group) and its retention.
  read_status = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData",
  "kafka-cluster:DescribeTopicDynamicConfiguration"]
}

# One role per service, assumable only by that service's Kubernetes service account (IRSA).
data "aws_iam_policy_document" "assume" {
  for_each = toset(local.services)
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider_url}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${local.base}-${each.key}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider_url}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "service" {
  for_each           = toset(local.services)
  name               = "${var.name_prefix}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume[each.key].json
  tags               = var.tags
}

# Topic trust boundary: each role writes (and reads) only the topics of its own statements; the
# Deny statements keep it so even if a broader policy is attached to the role later.

# producer-api: write requests and status (in one transaction), read status and the webhook
# deliveries (shown on jobs), presign output GETs.
data "aws_iam_policy_document" "producer_api" {
  statement {
    actions   = local.connect
    resources = [var.msk_cluster_arn]
  }
  statement {
    sid       = "IdempotentProducer"
    actions   = local.idempotent
    resources = [var.msk_cluster_arn]
  }
  statement {
    sid       = "WriteOwnTopics"
    actions   = local.write_topic
    resources = [local.topic.requests, local.topic.status]
  }
  statement {
    sid           = "DenyWritesToOtherTopics"
    effect        = "Deny"
    actions       = ["kafka-cluster:WriteData"]
    not_resources = [local.topic.requests, local.topic.status]
  }
  statement {
    actions   = local.read_status
    resources = [local.topic.status]
  }
  # Each job's webhook delivery, read with no group (like the status table).
  statement {
    actions   = local.read_topic
    resources = [local.topic.webhooks]
  }
  statement {
    sid           = "DenyReadsOfOtherTopics"
    effect        = "Deny"
    actions       = ["kafka-cluster:ReadData"]
    not_resources = [local.topic.status, local.topic.webhooks]
  }
  statement {
    actions   = ["kafka-cluster:DescribeTransactionalId", "kafka-cluster:AlterTransactionalId"]
    resources = ["${local.txn_arn}/producer-api-*"]
  }
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${var.output_bucket_arn}/outputs/*"]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [var.output_kms_key_arn]
  }
  # The API validates jobs against the same model cards the consumer serves: cards only.
  dynamic "statement" {
    for_each = var.model_bucket_arn == "" ? [] : [var.model_bucket_arn]
    content {
      actions   = ["s3:GetObject"]
      resources = ["${statement.value}/*/model.json"]
    }
  }
}

# gpu-consumer: read requests in its group, write outputs, status and DLQ, read models.
data "aws_iam_policy_document" "gpu_consumer" {
  statement {
    actions   = local.connect
    resources = [var.msk_cluster_arn]
  }
  statement {
    sid       = "IdempotentProducer"
    actions   = local.idempotent
    resources = [var.msk_cluster_arn]
  }
  statement {
    actions   = local.read_topic
    resources = [local.topic.requests]
  }
  statement {
    actions   = local.group_access
    resources = ["${local.group_arn}/${var.consumer_groups.gpu_consumer}"]
  }
  statement {
    sid       = "WriteOwnTopics"
    actions   = local.write_topic
    resources = [local.topic.outputs, local.topic.status, local.topic.dlq]
  }
  statement {
    sid           = "DenyWritesToOtherTopics"
    effect        = "Deny"
    actions       = ["kafka-cluster:WriteData"]
    not_resources = [local.topic.outputs, local.topic.status, local.topic.dlq]
  }
  statement {
    actions   = local.read_status
    resources = [local.topic.status]
  }
  statement {
    sid           = "DenyReadsOfOtherTopics"
    effect        = "Deny"
    actions       = ["kafka-cluster:ReadData"]
    not_resources = [local.topic.requests, local.topic.status]
  }
  dynamic "statement" {
    for_each = var.model_bucket_arn == "" ? [] : [var.model_bucket_arn]
    content {
      actions   = ["s3:GetObject"]
      resources = ["${statement.value}/*"]
    }
  }
}

# storage-sink: read outputs in its group, write the bucket's outputs/, status and DLQ.
data "aws_iam_policy_document" "storage_sink" {
  statement {
    actions   = local.connect
    resources = [var.msk_cluster_arn]
  }
  statement {
    sid       = "IdempotentProducer"
    actions   = local.idempotent
    resources = [var.msk_cluster_arn]
  }
  statement {
    actions   = local.read_topic
    resources = [local.topic.outputs]
  }
  statement {
    actions   = local.group_access
    resources = ["${local.group_arn}/${var.consumer_groups.storage_sink}"]
  }
  statement {
    sid       = "WriteOwnTopics"
    actions   = local.write_topic
    resources = [local.topic.status, local.topic.dlq]
  }
  statement {
    sid           = "DenyWritesToOtherTopics"
    effect        = "Deny"
    actions       = ["kafka-cluster:WriteData"]
    not_resources = [local.topic.status, local.topic.dlq]
  }
  statement {
    actions   = local.read_status
    resources = [local.topic.status]
  }
  statement {
    sid           = "DenyReadsOfOtherTopics"
    effect        = "Deny"
    actions       = ["kafka-cluster:ReadData"]
    not_resources = [local.topic.outputs, local.topic.status]
  }
  statement {
    actions   = ["s3:PutObject"]
    resources = ["${var.output_bucket_arn}/outputs/*"]
  }
  statement {
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.output_kms_key_arn]
  }
}

# webhook-notifier: read status in its group (and all of it, no group, for its status table), read
# and write the webhook deliveries. No S3 or KMS: it POSTs to the jobs' webhooks over the internet.
data "aws_iam_policy_document" "webhook_notifier" {
  statement {
    actions   = local.connect
    resources = [var.msk_cluster_arn]
  }
  statement {
    sid       = "IdempotentProducer"
    actions   = local.idempotent
    resources = [var.msk_cluster_arn]
  }
  statement {
    actions   = local.read_status
    resources = [local.topic.status]
  }
  statement {
    actions   = local.group_access
    resources = ["${local.group_arn}/${var.consumer_groups.webhook_notifier}"]
  }
  statement {
    sid       = "WriteOwnTopics"
    actions   = local.write_topic
    resources = [local.topic.webhooks]
  }
  statement {
    sid           = "DenyWritesToOtherTopics"
    effect        = "Deny"
    actions       = ["kafka-cluster:WriteData"]
    not_resources = [local.topic.webhooks]
  }
  # Its own deliveries, read back in full at start-up (no group).
  statement {
    actions   = local.read_topic
    resources = [local.topic.webhooks]
  }
  statement {
    sid           = "DenyReadsOfOtherTopics"
    effect        = "Deny"
    actions       = ["kafka-cluster:ReadData"]
    not_resources = [local.topic.status, local.topic.webhooks]
  }
}

resource "aws_iam_role_policy" "producer_api" {
  name   = "inferpipe-producer-api"
  role   = aws_iam_role.service["producer-api"].id
  policy = data.aws_iam_policy_document.producer_api.json
}

resource "aws_iam_role_policy" "gpu_consumer" {
  name   = "inferpipe-gpu-consumer"
  role   = aws_iam_role.service["gpu-consumer"].id
  policy = data.aws_iam_policy_document.gpu_consumer.json
}

resource "aws_iam_role_policy" "storage_sink" {
  name   = "inferpipe-storage-sink"
  role   = aws_iam_role.service["storage-sink"].id
  policy = data.aws_iam_policy_document.storage_sink.json
}

resource "aws_iam_role_policy" "webhook_notifier" {
  name   = "inferpipe-webhook-notifier"
  role   = aws_iam_role.service["webhook-notifier"].id
  policy = data.aws_iam_policy_document.webhook_notifier.json
}
