import { ENVIRONMENTS, EXAMPLE_ENVIRONMENTS } from './lib/environments';
import { synthesize } from './lib/app';

// The cdktf CLI (synth, deploy) sets CDKTF_OUTDIR and reports the stacks itself.
process.exitCode = synthesize([...ENVIRONMENTS, ...EXAMPLE_ENVIRONMENTS], { report: !process.env.CDKTF_OUTDIR });
