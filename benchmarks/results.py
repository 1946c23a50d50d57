"""benchmarks/RESULTS.md, one section per measurement: a script replaces its own section and leaves the others."""
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / 'RESULTS.md'


def write_section(title: str, # the section's heading, without '## '
                  body: str, # what goes under it
                 ):
    "Put `body` under `## title` of benchmarks/RESULTS.md, replacing what was there (appended when there is no such section); print it."
    text, head = RESULTS.read_text(), f'\n## {title}\n'
    section = head + '\n' + body.strip('\n') + '\n'
    if head in text:
        start = text.index(head); end = text.find('\n## ', start + len(head) - 1)
        text = text[:start] + section + (text[end:] if end != -1 else '')
    else: text = text.rstrip('\n') + '\n' + section
    RESULTS.write_text(text)
    print(section)
