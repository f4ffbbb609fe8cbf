"""The drill uses the backup tests' moto S3 server and AWS test credentials."""

from tests.edge.backup.conftest import _aws_env, bucket, moto

__all__ = ["_aws_env", "bucket", "moto"]
