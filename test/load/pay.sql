SELECT load.step('pay');
