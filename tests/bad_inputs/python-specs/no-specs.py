# expect: (top level) | defines no ModelSpec objects
x = 1
