import { versioningWarning } from '../../lib/s3/versioning';

describe("the archive bucket's versioning", () => {
	const expiring = [
		{ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
		{ Status: 'Enabled', Expiration: { ExpiredObjectDeleteMarker: true } },
	];

	it('says nothing for a bucket without versioning (never set, or not answered)', () => {
		expect(versioningWarning('b', undefined, [])).toBeUndefined();
	});

	it('warns for a versioned bucket that keeps old versions or delete markers', () => {
		expect(versioningWarning('checkout-archive', 'Enabled', [])).toMatch(
			/"checkout-archive" has versioning enabled.*personal data.*lifecycle rule/,
		);
		expect(versioningWarning('b', 'Suspended', [])).toMatch(/versioning suspended/);
		// Only half of what is needed, or a rule that is switched off.
		expect(versioningWarning('b', 'Enabled', [expiring[0]])).toBeDefined();
		expect(versioningWarning('b', 'Enabled', [expiring[1]])).toBeDefined();
		expect(
			versioningWarning(
				'b',
				'Enabled',
				expiring.map((r) => ({ ...r, Status: 'Disabled' })),
			),
		).toBeDefined();
	});

	it('accepts a versioned bucket whose rules expire old versions and remove expired delete markers', () => {
		expect(versioningWarning('b', 'Enabled', expiring)).toBeUndefined();
		expect(
			versioningWarning('b', 'Enabled', [
				{
					Status: 'Enabled',
					NoncurrentVersionExpiration: { NoncurrentDays: 1 },
					Expiration: { ExpiredObjectDeleteMarker: true },
				},
			]),
		).toBeUndefined();
	});
});
