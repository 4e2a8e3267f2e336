terraform {
  required_version = ">= 1.6.0, < 2.0.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

# Credentials come from the environment (AWS_PROFILE, SSO, an assumed role): never from code.
provider "aws" {
  region = var.region
  default_tags {
    tags = var.tags
  }
}
