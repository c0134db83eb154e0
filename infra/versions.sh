# Pinned versions of the real services, built from Go modules (sourced by infra/*.sh).
# temporal CLI v1.5.1: the newest release whose go.mod has no replace directive (later tags cannot be
# go-installed). MinIO publishes no semver tags; this is the pseudo-version of its last commit.
TEMPORAL_CLI_MODULE="github.com/temporalio/cli/cmd/temporal@v1.5.1"
MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
TF_WHEEL_VERSION="${TF_WHEEL_VERSION:-2.21.0}"
