/**
 * The suite's test environment: jest's node environment, plus the slot where a test file's command helper lives
 * (harness/programs/spawner.ts). The helper starts with the file's first short command and is stopped, and waited
 * for, when the file ends.
 */
import NodeEnvironment from 'jest-environment-node';
import { SPAWNER_SLOT, type SpawnerSlot, stopSpawner } from '../../harness/programs/spawner';

export default class SuiteEnvironment extends NodeEnvironment {
  private readonly slot: SpawnerSlot = {};

  async setup(): Promise<void> {
    await super.setup();
    this.global[SPAWNER_SLOT as unknown as string] = this.slot;
  }

  async teardown(): Promise<void> {
    await stopSpawner(this.slot);
    await super.teardown();
  }
}
