import { randomUUID } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { FrameLocator, Locator } from 'playwright-core';
import { fakeModel, transcriptionModel } from '../servers/fake-llm-server';
import { waitFor } from '../utils/wait-for';
import { screenshotPath } from './browser';
import { browserTestbed } from './testbed';

/** A `width`×`height` PNG of one opaque colour (8-bit RGB). */
function png(width: number, height: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.from([0, ...Array.from({ length: width }, () => rgb).flat()]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(Array.from({ length: height }, () => row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An image decoded to its natural width, as opposed to a broken or pending one. */
const imageShown = (image: Locator, width: number) =>
  waitFor(
    async () =>
      (await image.evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth)) ===
      width,
    { what: `the image to render ${width} pixels wide` },
  );

/** An audio player whose source has loaded far enough to know its duration. */
const audioLoaded = (audio: Locator) =>
  waitFor(
    () =>
      audio.evaluate(
        (el: { src: string; readyState: number }) =>
          el.src.startsWith('blob:') && el.readyState >= 1 /* HAVE_METADATA: runs in the page */,
      ),
    { what: 'the voice note to load' },
  );

describe('attachments in the chat page and the admin console, in Chromium with fake media devices', () => {
  const bed = browserTestbed(
    (fake, host) => ({
      NODE_ENV: 'production',
      LLM_MODELS: JSON.stringify([fakeModel(fake), transcriptionModel(fake)]),
      TRANSCRIPTION_MODEL: 'ears',
      ALLOWED_PARENT_ORIGINS: host.origin,
    }),
    { fakeMedia: true },
  );
  const { fake, open } = bed;

  const chip = (frame: FrameLocator, name: string | RegExp) =>
    frame.getByTestId('attachment').filter({ hasText: name });

  it('sends an image, a voice note and a text file that the user and the admin both see, and the admin answers with an image', async () => {
    const admin = await open('admin', { sub: 'admin-grace', name: 'Grace', roles: ['admin'] });
    await admin.frame.locator('.conn-online').waitFor();
    const user = await open('chat', { sub: `user-${randomUUID()}`, name: 'Ada Lovelace' });
    await user.frame.locator('.conn-online').waitFor();

    // A picked image and a text file upload at once, each with its chip.
    await user.frame.getByTestId('attach-input').setInputFiles([
      { name: 'pixel.png', mimeType: 'image/png', buffer: png(160, 90, [31, 95, 191]) },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Meeting notes\n') },
    ]);
    await chip(user.frame, 'pixel.png').and(user.frame.locator('[data-status="done"]')).waitFor();
    await chip(user.frame, 'notes.txt').and(user.frame.locator('[data-status="done"]')).waitFor();

    // A voice note from the fake microphone: the time runs, then Stop attaches it.
    await user.frame.getByRole('button', { name: 'Record voice' }).click();
    await user.frame.getByTestId('recording-time').filter({ hasText: 'Recording 0:01' }).waitFor();
    await user.frame.getByRole('button', { name: 'Stop and attach' }).click();
    const voice = chip(user.frame, /^voice-note-.*\.webm/);
    await voice.and(user.frame.locator('[data-status="done"]')).waitFor();
    await user.tab.screenshot({ path: screenshotPath('chat-attachments-composer') });

    // No words: the files alone. The voice note is transcribed, and its words reach the model as the user's.
    fake.script('transcription', { kind: 'ok', text: 'Please look at the blue picture.' });
    fake.script('openai', { kind: 'ok', text: 'Thanks for the files.' });
    await user.frame.getByRole('button', { name: 'Send' }).click();
    await user.frame.locator('.msg-ai:not(.msg-streaming)', { hasText: 'Thanks for the files.' }).waitFor();
    expect(await user.frame.getByTestId('attachment').count()).toBe(0);

    const lastPrompt = JSON.stringify(fake.of('openai').at(-1)?.body.messages);
    expect(lastPrompt).toContain('Please look at the blue picture.');
    expect(fake.of('transcription').at(-1)?.form?.fields.model).toBe('whisper-fake');

    const sent = user.frame.locator('.msg-user', { hasText: 'notes.txt' });
    await imageShown(sent.getByRole('img', { name: 'pixel.png' }), 160);
    await audioLoaded(sent.locator('audio'));
    await sent.getByTestId('file-chip').filter({ hasText: 'notes.txt' }).waitFor();
    await sent.getByText('Please look at the blue picture.').waitFor();
    await user.tab.screenshot({ path: screenshotPath('chat-attachments-sent') });

    // The admin console shows the same message: the image inline, the voice note playable, the file to download.
    await admin.frame.getByTestId('queue-item').filter({ hasText: 'Ada Lovelace' }).click();
    const seen = admin.frame.locator('.msg-user', { hasText: 'notes.txt' });
    await imageShown(seen.getByRole('img', { name: 'pixel.png' }), 160);
    await audioLoaded(seen.locator('audio'));
    const duration = await seen.locator('audio').evaluate((el: { duration: number }) => el.duration);
    expect(duration).toBeGreaterThan(0);
    await seen.getByText('Please look at the blue picture.').waitFor();
    const download = admin.tab.waitForEvent('download');
    await seen.getByTestId('file-chip').filter({ hasText: 'notes.txt' }).click();
    expect((await download).suggestedFilename()).toBe('notes.txt');
    await admin.tab.screenshot({ path: screenshotPath('admin-attachments') });

    // Holding the session, the admin answers with an image of their own, which the user sees inline.
    await admin.frame.getByRole('button', { name: 'Take over' }).click();
    await admin.frame.getByTestId('owner').filter({ hasText: 'With Grace' }).waitFor();
    await admin.frame
      .getByTestId('attach-input')
      .setInputFiles({ name: 'reply.png', mimeType: 'image/png', buffer: png(48, 48, [200, 40, 40]) });
    await chip(admin.frame, 'reply.png').and(admin.frame.locator('[data-status="done"]')).waitFor();
    await admin.frame.getByLabel('Your answer').fill('Here is the corrected one.');
    await admin.frame.getByLabel('Your answer').press('Enter');
    const answer = user.frame.locator('.msg-admin', { hasText: 'Here is the corrected one.' });
    await imageShown(answer.getByRole('img', { name: 'reply.png' }), 48);

    await admin.context.close();
    await user.context.close();
    // No Content-Security-Policy violation, console error or foreign request on either page.
    expect([...admin.watch.problems, ...user.watch.problems]).toEqual([]);
  });

  it('cancels an upload, and shows a refused file type as an error', async () => {
    const user = await open('chat', { sub: `user-${randomUUID()}`, name: 'Ada' });
    await user.frame.locator('.conn-online').waitFor();
    // An executable is refused by its content, whatever its name says.
    const elf = Buffer.alloc(128);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(elf);
    await user.frame
      .getByTestId('attach-input')
      .setInputFiles({ name: 'tool.pdf', mimeType: 'application/pdf', buffer: elf });
    await user.frame.getByTestId('error').filter({ hasText: 'That kind of file cannot be sent.' }).waitFor();
    await chip(user.frame, 'tool.pdf').and(user.frame.locator('[data-status="failed"]')).waitFor();
    await user.frame.getByRole('button', { name: 'Remove tool.pdf' }).click();
    await chip(user.frame, 'tool.pdf').waitFor({ state: 'detached' });

    // An upload held on the way (the route never answers) is cancelled from its chip: no chip, no error.
    await user.frame.getByTestId('error').getByRole('button', { name: 'Dismiss' }).click();
    let held = false;
    await user.context.route('**/chatbox/files', () => void (held = true));
    await user.frame.getByTestId('attach-input').setInputFiles({
      name: 'slow.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('some words\n'),
    });
    await waitFor(() => held, { what: 'the upload to be on its way' });
    await chip(user.frame, 'slow.txt').getByRole('progressbar', { name: 'Uploading slow.txt' }).waitFor();
    expect(await user.frame.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    await user.frame.getByRole('button', { name: 'Cancel upload of slow.txt' }).click();
    await chip(user.frame, 'slow.txt').waitFor({ state: 'detached' });
    expect(await user.frame.getByTestId('error').count()).toBe(0);
    await user.context.close();
    // The refused upload's 415 is the only problem the browser reports.
    expect(user.watch.problems).toEqual([expect.stringMatching(/\/chatbox\/files: .*status of 415/)]);
  });
});
