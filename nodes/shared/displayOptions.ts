import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

/** Shows each property only where `show` matches, merged with its own display options (as nodes-base does). */
export function updateDisplayOptions(
	show: NonNullable<IDisplayOptions['show']>,
	properties: INodeProperties[],
): INodeProperties[] {
	return properties.map((p) => ({
		...p,
		displayOptions: { ...p.displayOptions, show: { ...show, ...p.displayOptions?.show } },
	}));
}
