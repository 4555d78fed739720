/**
 * A field a buyer must fix, as every part of the lead capture reports it (validation, the catalog, the
 * answer pages): which field, and a message that names no value the buyer sent.
 */
export interface FieldError {
	field: string;
	message: string;
}
