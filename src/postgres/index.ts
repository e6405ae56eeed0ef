/**
 * Placeholder: filled by the postgres backend.
 *
 * @module
 */
export {};
