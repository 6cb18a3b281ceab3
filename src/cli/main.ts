// The `tandem` command line: one file per verb registers itself on the program.
import { Command } from 'commander';
import { registerConverge } from './converge.ts';
import { registerLab } from './lab.ts';
import { registerVerify } from './verify.ts';
import { registerDemo } from './demo.ts';
import { registerDeploy } from './deploy.ts';
import { registerStatus } from './status.ts';

const program = new Command('tandem')
  .description('Provision and maintain a load-balanced, replicated web stack over SSH')
  .showHelpAfterError()
  .enablePositionalOptions();

registerConverge(program);
registerVerify(program);
registerDeploy(program);
registerStatus(program);
registerDemo(program);
registerLab(program);

await program.parseAsync(process.argv);
