import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * S3-compatible storage for the archive: AWS S3 (endpoint empty) or MinIO and other S3-compatible
 * servers (endpoint + path style). Tested by the Webhook Archive node, which lists one key of the bucket
 * (S3 requests are SigV4-signed, which a declarative credential test cannot do).
 */
export class CheckoutS3Api implements ICredentialType {
	name = 'checkoutS3Api';

	displayName = 'Checkout Archive S3 API';

	icon: Icon = { light: 'file:icons/s3.svg', dark: 'file:icons/s3.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-checkout-recovery/n8n-nodes-checkout-recovery/blob/main/docs/archive.md#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			placeholder: 'http://minio:9000',
			description: 'Leave empty for AWS S3. For MinIO or another S3-compatible store, its URL.',
		},
		{
			displayName: 'Region',
			name: 'region',
			type: 'string',
			default: 'us-east-1',
		},
		{
			displayName: 'Access Key ID',
			name: 'accessKeyId',
			type: 'string',
			default: '',
			required: true,
		},
		{
			displayName: 'Secret Access Key',
			name: 'secretAccessKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Bucket',
			name: 'bucket',
			type: 'string',
			default: '',
			required: true,
			description: 'The bucket the archive lives in. It must exist.',
		},
		{
			displayName: 'Force Path Style',
			name: 'forcePathStyle',
			type: 'boolean',
			default: false,
			description:
				'Whether to address the bucket as endpoint/bucket instead of bucket.endpoint (needed for MinIO)',
		},
		{
			displayName: 'Server-Side Encryption',
			name: 'serverSideEncryption',
			type: 'options',
			default: 'none',
			options: [
				{ name: 'None', value: 'none' },
				{ name: 'S3 Managed Keys (AES256)', value: 'AES256' },
				{ name: 'AWS KMS', value: 'aws:kms' },
			],
		},
		{
			displayName: 'KMS Key ID',
			name: 'kmsKeyId',
			// eslint-disable-next-line n8n-nodes-base/cred-class-field-type-options-password-missing -- a key id names a key, it is no secret
			type: 'string',
			default: '',
			displayOptions: { show: { serverSideEncryption: ['aws:kms'] } },
			description: "Leave empty to use the bucket's default KMS key",
		},
	];
}
