output "bootstrap_brokers_sasl_iam" {
  description = "For the Helm value kafka.bootstrapServers (with securityProtocol SASL_SSL, saslMechanism AWS_MSK_IAM)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
}

output "cluster_arn" {
  description = "For IAM policies (kafka-cluster:* actions)."
  value       = aws_msk_cluster.this.arn
}

output "cluster_name" {
  description = "Name of the cluster."
  value       = aws_msk_cluster.this.cluster_name
}
