/// <reference types="vite/client" />

// Mantine ships plain CSS files imported for their side effects.
declare module "*.css";
