variable "bucket_name" {
  description = "Name of the bucket jobs' outputs are written to (INFERPIPE_S3_BUCKET)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "output_expiry_days" {
  description = "Objects under outputs/ are deleted after this many days."
  type        = number
  default     = 30
  validation {
    condition     = var.output_expiry_days >= 1 && var.output_expiry_days <= 3650
    error_message = "output_expiry_days must be between 1 and 3650."
  }
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before the bucket's KMS key is deleted."
  type        = number
  default     = 30
  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30
    error_message = "kms_key_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
