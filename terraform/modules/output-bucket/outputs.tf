output "bucket_name" {
  description = "For the Helm value s3.bucket."
  value       = aws_s3_bucket.outputs.id
}

output "bucket_arn" {
  description = "For IAM policies."
  value       = aws_s3_bucket.outputs.arn
}

output "kms_key_arn" {
  description = "Writers and readers of the bucket need kms:GenerateDataKey / kms:Decrypt on it."
  value       = aws_kms_key.outputs.arn
}
