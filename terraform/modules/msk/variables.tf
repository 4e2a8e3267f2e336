variable "cluster_name" {
  description = "Name of the MSK cluster."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,63}$", var.cluster_name))
    error_message = "cluster_name must start with a letter and hold letters, digits and hyphens (at most 64)."
  }
}

variable "kafka_version" {
  description = "Apache Kafka version of the cluster."
  type        = string
  default     = "3.8.x"
}

variable "broker_count" {
  description = "Number of brokers; a multiple of the number of subnets."
  type        = number
  default     = 3
  validation {
    condition     = var.broker_count >= 2
    error_message = "broker_count must be at least 2."
  }
}

variable "broker_instance_type" {
  description = "Broker instance type."
  type        = string
  default     = "kafka.m7g.large"
}

variable "broker_volume_gib" {
  description = "EBS storage per broker, GiB."
  type        = number
  default     = 100
}

variable "subnet_ids" {
  description = "Private subnets, one per availability zone."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs at least two subnets."
  }
}

variable "vpc_id" {
  description = "VPC of the subnets."
  type        = string
}

variable "client_cidr_blocks" {
  description = "CIDR blocks of the Kubernetes nodes that connect to the brokers."
  type        = list(string)
}

variable "log_retention_days" {
  description = "Retention of broker logs in CloudWatch."
  type        = number
  default     = 14
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
