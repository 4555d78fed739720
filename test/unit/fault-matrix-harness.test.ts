/**
 * How the fault matrix (testbench/faultMatrix.ts) finds a lead's deal, in its progress check and its final
 * check alike: by the lead's own id or, for a buyer who posted the form again after the first answer was
 * lost, by the id recorded on the deal as the buyer's other submission.
 */
import { leadDeals } from '../../testbench/faultMatrix';

const dealFields = [
	{ name: 'Checkout lead id', key: 'k-lead' },
	{ name: 'Checkout earlier lead id', key: 'k-other' },
];

it("finds a lead's deal by its own lead id", () => {
	const deals = [
		{ id: 1, status: 'open', custom_fields: { 'k-lead': 'L1' } },
		{ id: 2, status: 'won', custom_fields: { 'k-lead': 'L2' } },
	];
	expect(leadDeals(deals, dealFields, 'L2').map((d) => d.id)).toEqual([2]);
});

it('finds the deal of a lead posted again (the deal keeps the first lead id and records the second), which its payments go to', () => {
	// Lead 45 of a run on 2026-12-02: its first post was stored, its answer lost in the S3 outage; the
	// buyer posted again, the gateway events carried the second lead id, and the progress check, looking
	// at "Checkout lead id" only, never counted the lead as settled: the run waited out its deadline.
	const deals = [
		{ id: 252, status: 'won', custom_fields: { 'k-lead': 'L-first', 'k-other': 'L-second' } },
	];
	expect(leadDeals(deals, dealFields, 'L-second').map((d) => d.id)).toEqual([252]);
	expect(leadDeals(deals, dealFields, 'L-first').map((d) => d.id)).toEqual([252]);
});

it('leaves deleted deals out, and finds nothing before the fields exist', () => {
	const deals = [
		{ id: 1, status: 'deleted', custom_fields: { 'k-lead': 'L1' } },
		{ id: 2, status: 'open', custom_fields: { 'k-lead': 'L1' } },
	];
	expect(leadDeals(deals, dealFields, 'L1').map((d) => d.id)).toEqual([2]);
	expect(leadDeals(deals, [], 'L1')).toEqual([]);
});
