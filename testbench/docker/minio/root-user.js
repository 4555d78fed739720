// Preloaded into s3rver: MinIO's root user (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD) as s3rver's access key,
// in place of its built-in S3RVER/S3RVER, so that the archive's credential is the one a MinIO would take.
'use strict';
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

const user = process.env.MINIO_ROOT_USER || 'minioadmin';
const password = process.env.MINIO_ROOT_PASSWORD || 'minioadmin';
DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
DUMMY_ACCOUNT.createKeyPair(user, password);
