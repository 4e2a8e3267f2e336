locals {
  # Everything `helm install` needs from this stack (see docs/DEPLOY.md).
  helm_values = {
    kafka = {
      bootstrapServers               = module.kafka.bootstrap_brokers_sasl_iam
      securityProtocol               = "SASL_SSL"
      saslMechanism                  = "AWS_MSK_IAM"
      saslClientCallbackHandlerClass = "software.amazon.msk.auth.iam.IAMClientCallbackHandler"
    }
    s3 = {
      bucket = module.outputs_bucket.bucket_name
      region = var.region
    }
    producerApi     = { serviceAccount = { annotations = { "eks.amazonaws.com/role-arn" = module.iam.role_arns["producer-api"] } } }
    gpuConsumer     = { serviceAccount = { annotations = { "eks.amazonaws.com/role-arn" = module.iam.role_arns["gpu-consumer"] } } }
    storageSink     = { serviceAccount = { annotations = { "eks.amazonaws.com/role-arn" = module.iam.role_arns["storage-sink"] } } }
    webhookNotifier = { serviceAccount = { annotations = { "eks.amazonaws.com/role-arn" = module.iam.role_arns["webhook-notifier"] } } }
  }
}

output "helm_values" {
  description = "Values for helm/inferpipe from this stack."
  value       = local.helm_values
}

output "helm_values_yaml" {
  description = "The same as a values file: terraform output -raw helm_values_yaml > values-aws.yaml"
  value       = yamlencode(local.helm_values)
}
