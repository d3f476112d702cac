# expect: line 2 | Python syntax error
def broken(:
