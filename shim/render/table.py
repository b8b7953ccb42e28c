"""systemd's plain tables: columns padded to their widest cell, one space apart, no trailing
spaces on the last column, headers upper-cased (src/shared/format-table.c, without a TTY)."""


def render(header, rows, *, legend: bool) -> list:
    table = ([list(header)] if legend else []) + [list(r) for r in rows]
    if not table:
        return []
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for row in table:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append(" ".join(cells).rstrip())
    return lines
