SELECT load.step('book');
