/**
 * Placeholder: filled by the sqlite backend.
 *
 * @module
 */
export {};
