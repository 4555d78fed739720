/**
 * Whether the archive's bucket keeps old versions of what the archive moves and deletes. The archive
 * deletes without version ids (the relay's move from pending/ to relayed/, Purge, a buyer's erasure): on a
 * versioned bucket each delete only adds a delete marker and keeps the old version, personal data
 * included, and the markers pile up where every sweep lists. That is fine only with a lifecycle rule that
 * expires noncurrent versions (and removes expired delete markers); the compose stack makes its bucket
 * without versioning. Pure: the caller reads the bucket's versioning and lifecycle configuration.
 */

/** The parts of a lifecycle rule that matter here, as the AWS SDK returns them. */
export interface LifecycleRuleShape {
	Status?: string;
	NoncurrentVersionExpiration?: { NoncurrentDays?: number };
	Expiration?: { ExpiredObjectDeleteMarker?: boolean };
}

/**
 * A warning for the credential's test, or undefined when the bucket keeps no old versions for long.
 * `versioning` is the bucket's versioning status ("Enabled", "Suspended", or undefined when never set or
 * not answered by the store).
 */
export function versioningWarning(
	bucket: string,
	versioning: string | undefined,
	rules: LifecycleRuleShape[],
): string | undefined {
	if (versioning !== 'Enabled' && versioning !== 'Suspended') return undefined;
	const enabled = rules.filter((r) => r.Status === 'Enabled');
	const expiresOld = enabled.some((r) => (r.NoncurrentVersionExpiration?.NoncurrentDays ?? 0) > 0);
	const dropsMarkers = enabled.some((r) => r.Expiration?.ExpiredObjectDeleteMarker === true);
	if (expiresOld && dropsMarkers) return undefined;
	return (
		`Bucket "${bucket}" has versioning ${versioning.toLowerCase()}: the archive's moves, Purge and erasures ` +
		'leave old versions (personal data included) and delete markers behind. Add a lifecycle rule that ' +
		'expires noncurrent versions after a day and removes expired delete markers, or use a bucket without ' +
		'versioning (docs/archive.md)'
	);
}
