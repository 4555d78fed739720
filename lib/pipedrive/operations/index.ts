/**
 * What the Pipedrive Follow-Up node does, without n8n, one file per operation: set up the deal fields,
 * upsert a lead (person + deal + note), apply a checkout event to its deal, and run the follow-up rules.
 * Decisions come from the pure modules (lib/checkout: state machine and rule engine; ../fields: field
 * encoding); these make the calls, as few as they can, and say how many they made.
 */
export { clearCaches } from './caches';
export { setupFields, checkoutFields, type SetupResult } from './setup';
export {
	DEFAULT_MAX_LEADS_PER_BUYER_PER_HOUR,
	DEFAULT_REUSE_OPEN_DEAL_HOURS,
	leadInputFrom,
	leadNote,
	optionalNumber,
	upsertLead,
	type LeadInput,
	type RawLeadInput,
	type UpsertLeadOptions,
	type UpsertLeadResult,
} from './upsertLead';
export { applyEvent, type ApplyEventResult, type CheckoutEventInput } from './applyEvent';
export { runRules, type RunRulesOptions, type RunRulesResult } from './runRules';
export { checkoutReport, type ReportOptions, type ReportResult } from './report';
