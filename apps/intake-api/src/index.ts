export { startIntake, type IntakeHandle, type StartIntakeOptions } from './start.js';
export { createIntakeApp, type IntakeAppDeps } from './app.js';
