data "aws_caller_identity" "current" {}

module "outputs_bucket" {
  source             = "../../modules/output-bucket"
  bucket_name        = "${var.name}-outputs-${data.aws_caller_identity.current.account_id}"
  output_expiry_days = 30
  tags               = var.tags
}

module "kafka" {
  source             = "../../modules/msk"
  cluster_name       = var.name
  subnet_ids         = var.private_subnet_ids
  vpc_id             = var.vpc_id
  client_cidr_blocks = var.node_cidr_blocks
  tags               = var.tags
}

module "iam" {
  source             = "../../modules/service-iam"
  name_prefix        = var.name
  oidc_provider_arn  = var.eks_oidc_provider_arn
  oidc_provider_url  = var.eks_oidc_provider_url
  namespace          = var.namespace
  release_name       = "inferpipe"
  msk_cluster_arn    = module.kafka.cluster_arn
  output_bucket_arn  = module.outputs_bucket.bucket_arn
  output_kms_key_arn = module.outputs_bucket.kms_key_arn
  tags               = var.tags
}
