variable "name_prefix" {
  description = "Prefix of the IAM role names (one role per service)."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 characters valid in IAM role names."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (IRSA)."
  type        = string
}

variable "oidc_provider_url" {
  description = "Issuer URL of that provider, without https://."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the Helm release."
  type        = string
  default     = "inferpipe"
}

variable "release_name" {
  description = "Helm release name: service accounts are <release>-inferpipe-<service> (or <release>-<service> when the release name contains 'inferpipe')."
  type        = string
  default     = "inferpipe"
}

variable "msk_cluster_arn" {
  description = "ARN of the MSK cluster."
  type        = string
}

variable "topics" {
  description = "Topic names, as set in the Helm values kafka.topics (webhooks: the webhook deliveries, written by webhook-notifier)."
  type = object({
    requests = string
    outputs  = string
    status   = string
    dlq      = string
    webhooks = optional(string, "inference.webhooks")
  })
  default = {
    requests = "inference.requests"
    outputs  = "inference.outputs"
    status   = "inference.status"
    dlq      = "inference.requests.dlq"
    webhooks = "inference.webhooks"
  }
}

variable "consumer_groups" {
  description = "Consumer groups of gpu-consumer, storage-sink and webhook-notifier, as set in the Helm values <service>.consumerGroup."
  type = object({
    gpu_consumer     = string
    storage_sink     = string
    webhook_notifier = optional(string, "inferpipe-webhook-notifier")
  })
  default = {
    gpu_consumer     = "inferpipe-gpu-consumer"
    storage_sink     = "inferpipe-storage-sink"
    webhook_notifier = "inferpipe-webhook-notifier"
  }
}

variable "output_bucket_arn" {
  description = "ARN of the output bucket."
  type        = string
}

variable "output_kms_key_arn" {
  description = "KMS key encrypting the output bucket."
  type        = string
}

variable "model_bucket_arn" {
  description = "Bucket holding models for INFERPIPE_MODEL_URI=s3://...; empty when models are bundled."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
