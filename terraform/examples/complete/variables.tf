variable "region" {
  description = "AWS region for everything."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of this deployment; prefixes the bucket, cluster and roles."
  type        = string
  default     = "inferpipe"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name must be 3-21 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC the EKS cluster runs in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets for the MSK brokers (one per AZ)."
  type        = list(string)
}

variable "node_cidr_blocks" {
  description = "CIDR blocks of the EKS nodes (Kafka clients)."
  type        = list(string)
}

variable "eks_oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider."
  type        = string
}

variable "eks_oidc_provider_url" {
  description = "Issuer URL of the OIDC provider without https://."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace for the Helm release."
  type        = string
  default     = "inferpipe"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default = {
    project = "inferpipe"
  }
}
