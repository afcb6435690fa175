# The state bucket (SOS, through the aws provider the caller points at SOS) and the functions artifact in it.

resource "aws_s3_bucket" "state" {
  bucket = "${var.name}-state"

  # `terraform destroy` must leave the account empty, requests and history included.
  force_destroy = true
}

data "archive_file" "functions" {
  type        = "zip"
  source_dir  = "${path.module}/../../../functions"
  output_path = "${path.root}/.terraform/build/functions.zip"
  excludes    = ["**/__pycache__/**", "**/*.pyc"]
}

resource "aws_s3_object" "functions" {
  bucket       = aws_s3_bucket.state.bucket
  key          = "artifacts/functions-${data.archive_file.functions.output_md5}.zip"
  source       = data.archive_file.functions.output_path
  etag         = data.archive_file.functions.output_md5
  content_type = "application/zip"
}
