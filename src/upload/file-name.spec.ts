import { DetectedType } from './file-type';
import { sanitizeFileName } from './file-name';

const png: DetectedType = { type: 'image/png', ext: 'png', kind: 'image' };
const text: DetectedType = { type: 'text/plain', ext: 'txt', kind: 'text' };

describe(sanitizeFileName.name, () => {
  it.each([
    ['holiday.pdf', png, 'holiday.png'],
    ['photo.PNG', png, 'photo.png'],
    ['../../etc/passwd', text, 'passwd.txt'],
    ['C:\\Users\\ann\\notes.md', text, 'notes.md'],
    ['report.exe', text, 'report.txt'],
    ['evil\u202egnp.js', png, 'evilgnp.png'],
    ['a<b>:"c"|?*.csv', text, 'a_b___c____.csv'],
    ['...', png, 'file.png'],
    [undefined, text, 'file.txt'],
    ['  spaced name .txt  ', text, 'spaced name.txt'],
  ])('makes %j (%o) into %j', (given, detected, expected) => {
    expect(sanitizeFileName(given, detected)).toBe(expected);
  });

  it('keeps names to 120 characters, extension included', () => {
    const name = sanitizeFileName(`${'é'.repeat(300)}.png`, png);
    expect([...name]).toHaveLength(120);
    expect(name.endsWith('é.png')).toBe(true);
  });
});
