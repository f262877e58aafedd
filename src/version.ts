/** The product version, one place. */
export const VERSION = '0.1.0';
