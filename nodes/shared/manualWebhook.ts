/**
 * The webhook lifecycle of a trigger whose URL the shop pastes by hand (a gateway's dashboard, a form's
 * action): nothing to register with a third party, nothing to remove.
 */
import type { IHookFunctions } from 'n8n-workflow';

export const manualWebhookMethods = {
	default: {
		async checkExists(this: IHookFunctions): Promise<boolean> {
			return true;
		},
		async create(this: IHookFunctions): Promise<boolean> {
			return true;
		},
		async delete(this: IHookFunctions): Promise<boolean> {
			return true;
		},
	},
};
