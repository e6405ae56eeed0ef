/**
 * Placeholder: filled by the redis backend.
 *
 * @module
 */
export {};
