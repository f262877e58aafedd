import type { JobsPart } from '../jobs-part.ts';

export const playbookJobs: JobsPart = async () => ({ stop: () => {} });
