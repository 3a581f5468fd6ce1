"""The pieces of the ``lionrx`` command (`lionrx.cli`): model choice, output, commands."""
