output "role_arns" {
  description = "Per service, for the Helm values <service>.serviceAccount.annotations.\"eks.amazonaws.com/role-arn\"."
  value       = { for name, role in aws_iam_role.service : name => role.arn }
}
