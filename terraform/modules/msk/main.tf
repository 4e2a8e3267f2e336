resource "aws_security_group" "brokers" {
  name_prefix = "${var.cluster_name}-"
  description = "MSK brokers of ${var.cluster_name}"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

# IAM-authenticated TLS listener only (9098); no plaintext listener is opened.
resource "aws_vpc_security_group_ingress_rule" "iam_tls" {
  for_each          = toset(var.client_cidr_blocks)
  security_group_id = aws_security_group.brokers.id
  description       = "Kafka clients, IAM auth over TLS"
  ip_protocol       = "tcp"
  from_port         = 9098
  to_port           = 9098
  cidr_ipv4         = each.value
}

resource "aws_cloudwatch_log_group" "brokers" {
  name              = "/aws/msk/${var.cluster_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_msk_configuration" "this" {
  name           = var.cluster_name
  kafka_versions = [var.kafka_version]
  # Topics are created by the platform (or the services' provisioner), not on first use.
  # Records up to 10 MiB (outputs up to 8 MiB plus the headers of a DLQ copy): the services'
  # producers use max.request.size=10485760 and their topics max.message.bytes=10485760.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=3
    min.insync.replicas=2
    message.max.bytes=10485760
    replica.fetch.max.bytes=10485760
  PROPERTIES
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.cluster_name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count

  broker_node_group_info {
    instance_type   = var.broker_instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.brokers.id]
    storage_info {
      ebs_storage_info {
        volume_size = var.broker_volume_gib
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  client_authentication {
    sasl {
      iam = true
    }
    unauthenticated = false
  }

  encryption_info {
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.brokers.name
      }
    }
  }

  tags = var.tags
}
